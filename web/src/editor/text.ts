// 字数 and offsets: the same rules as storage/text/wordcount.py, and code points vs UTF-16.

const CJK =
  '\\u2e80-\\u2fdf' + // radicals
  '\\u3005-\\u3007\\u3021-\\u3029\\u3038-\\u303b' + // 々〆〇, Hangzhou numerals
  '\\u3040-\\u30ff' + // kana
  '\\u3100-\\u312f\\u31a0-\\u31bf' + // bopomofo
  '\\u3400-\\u4dbf\\u4e00-\\u9fff\\uf900-\\ufaff' + // ideographs
  '\\uac00-\\ud7af' + // hangul
  '\\u{20000}-\\u{3134f}' // ideographs, planes 2 and 3
const CJK_PUNCTUATION =
  '\\u3001-\\u3004\\u3008-\\u3020\\u3030\\u303d' + // 、。《》「」【】 (U+3000 is a space)
  '\\u2014\\u2015\\u2018\\u2019\\u201c\\u201d\\u2026\\u2027\\u00b7' + // —— ‘’ “” …… ·
  '\\ufe10-\\ufe1f\\ufe30-\\ufe4f' + // vertical forms
  '\\uff01-\\uff0f\\uff1a-\\uff20\\uff3b-\\uff40\\uff5b-\\uff65' // full-width punctuation
const LATIN = 'A-Za-z0-9\\uff10-\\uff19\\uff21-\\uff3a\\uff41-\\uff5a\\u00c0-\\u024f'
const TOKEN = new RegExp(`[${CJK}${CJK_PUNCTUATION}]|[${LATIN}]+`, 'gu')

/** Each CJK character or punctuation mark counts one, each run of Latin letters or digits one. */
export function countWords(text: string): number {
  let count = 0
  TOKEN.lastIndex = 0
  while (TOKEN.exec(text) !== null) count++
  return count
}

/** The code-point offset (what the server's Python uses) of a UTF-16 offset (what JS uses). */
export function toCodePoints(text: string, utf16: number): number {
  let points = 0
  for (let i = 0; i < utf16 && i < text.length; i++) {
    const unit = text.charCodeAt(i)
    // A high surrogate followed by a low one is one code point: skip the low half.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < utf16) {
      const next = text.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) i++
    }
    points++
  }
  return points
}

/** The UTF-16 offset of a code-point offset. */
export function toUtf16(text: string, points: number): number {
  let index = 0
  for (let seen = 0; seen < points && index < text.length; seen++) {
    const unit = text.charCodeAt(index)
    index += unit >= 0xd800 && unit <= 0xdbff && index + 1 < text.length ? 2 : 1
  }
  return index
}
