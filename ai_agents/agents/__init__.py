"""The agents: one module each (continuation, polish, conversion, outline, review, summaries,
snowflake), callable without HTTP and handed the ports they use (`ai_agents.ports`).

`streaming` is how an agent writes into a chapter as a peer; `task_runner` runs a queued AI task
with the agent its type names.
"""
