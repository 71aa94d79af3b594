"""What notifications say, in Chinese and English: a message key and its parameters are stored
(`notifications.message_key` / `message_params`), the text is made for each reader's language.

Parameters named in `_LABELS` are codes (a role, an export format, a work type, an AI task type)
shown as that language's word; the others (titles, names, reasons) are shown as they are. A row
without a key (written before migration 0014) shows its stored Chinese title and body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Lang = Literal["zh", "en"]

_TEXTS: dict[str, dict[Lang, tuple[str, str]]] = {
    "export.done": {
        "zh": ("《{title}》导出完成", "{format} 文件已生成，可以下载了。"),
        "en": ("“{title}” exported", "The {format} file is ready to download."),
    },
    "import.done": {
        "zh": ("《{title}》导入完成", "已导入为{kind}，共 {chapters} 章。"),
        "en": ("“{title}” imported", "Imported as a {kind} of {chapters} chapters."),
    },
    "export.failed": {"zh": ("导出失败", "{error}"), "en": ("Export failed", "{error}")},
    "import.failed": {"zh": ("导入失败", "{error}"), "en": ("Import failed", "{error}")},
    "ai.failed": {"zh": ("AI 任务失败", "{error}"), "en": ("AI task failed", "{error}")},
    "task.failed": {"zh": ("任务失败", "{error}"), "en": ("Task failed", "{error}")},
    "ai_task.completed": {"zh": ("{task} 已完成", ""), "en": ("{task} finished", "")},
    "ai_task.failed": {"zh": ("{task} 失败", ""), "en": ("{task} failed", "")},
    "member.invited": {
        "zh": ("你被邀请参与《{work}》", "你的角色：{role}。"),
        "en": ("You were invited to “{work}”", "Your role: {role}."),
    },
    "member.role": {
        "zh": ("你在《{work}》中的角色已变更", "新角色：{role}。"),
        "en": ("Your role on “{work}” changed", "New role: {role}."),
    },
    "member.removed": {
        "zh": ("你已被移出《{work}》", ""),
        "en": ("You were removed from “{work}”", ""),
    },
    "invitation.joined": {
        "zh": ("你已加入《{work}》", "你的角色：{role}。"),
        "en": ("You joined “{work}”", "Your role: {role}."),
    },
    "invitation.accepted": {
        "zh": ("{user} 已接受邀请，加入《{work}》", "角色：{role}。"),
        "en": ("{user} accepted your invitation to “{work}”", "Role: {role}."),
    },
    "report.hidden": {
        "zh": (
            "你的内容《{title}》已被管理员隐藏",
            "经用户举报并由管理员审核，该内容违反了社区规范。",
        ),
        "en": (
            "Your content “{title}” was hidden by an administrator",
            "After a report and an administrator's review, it was found to break the "
            "community rules.",
        ),
    },
    "report.hidden_because": {
        "zh": ("你的内容《{title}》已被管理员隐藏", "{reason}"),
        "en": ("Your content “{title}” was hidden by an administrator", "{reason}"),
    },
    "comment.mention": {
        "zh": ("{user} 在批注中提到了你", "{excerpt}"),
        "en": ("{user} mentioned you in a comment", "{excerpt}"),
    },
}

_LABELS: dict[str, dict[Lang, dict[str, str]]] = {
    "role": {
        "zh": {"editor": "编辑者（可写）", "viewer": "只读成员", "owner": "所有者"},
        "en": {"editor": "editor (may write)", "viewer": "viewer (read only)", "owner": "owner"},
    },
    "format": {
        "zh": {"txt": "TXT", "word": "Word", "pdf": "PDF", "fountain": "Fountain"},
        "en": {"txt": "TXT", "word": "Word", "pdf": "PDF", "fountain": "Fountain"},
    },
    "kind": {
        "zh": {"novel": "小说", "script": "剧本"},
        "en": {"novel": "novel", "script": "script"},
    },
    "task": {
        "zh": {
            "continue": "AI · 续写",
            "polish": "AI · 润色",
            "convert": "AI · 改编",
            "outline": "AI · 大纲",
            "review": "AI · 审稿",
        },
        "en": {
            "continue": "AI · Continue",
            "polish": "AI · Polish",
            "convert": "AI · Adapt",
            "outline": "AI · Outline",
            "review": "AI · Review",
        },
    },
}
_DEFAULT_LABELS: dict[str, dict[Lang, str]] = {
    "kind": {"zh": "作品", "en": "work"},
}


@dataclass(frozen=True, slots=True)
class Message:
    """What a notification says: `key` in `_TEXTS` and its parameters (JSON values)."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)


def _label(name: str, value: Any, lang: Lang) -> Any:
    labels = _LABELS.get(name)
    if labels is None:
        return "" if value is None else value
    found = labels[lang].get(str(value))
    if found is not None:
        return found
    if name == "task":
        return f"AI · {value}"
    return _DEFAULT_LABELS.get(name, {}).get(lang, "" if value is None else value)


def render(message: Message, lang: Lang) -> tuple[str, str] | None:
    """The title and body of `message` in `lang`; None for a key this server does not know."""
    texts = _TEXTS.get(message.key)
    if texts is None:
        return None
    values = {name: _label(name, value, lang) for name, value in message.params.items()}
    title, body = texts[lang]
    try:
        return title.format_map(values), body.format_map(values)
    except (KeyError, IndexError, ValueError):
        return None


def ai_task_message(data: dict[str, Any]) -> Message | None:
    """The message of an AI task's outcome, told through the `Notify` port (`ai_agents` names no
    keys): its `status` and task `type` are in `data`."""
    status = data.get("status")
    if status not in ("completed", "failed") or not data.get("type"):
        return None
    return Message(f"ai_task.{status}", {"task": data["type"]})
