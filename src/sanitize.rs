//! Strings typed by strangers (candidate names, reasons) made harmless: for a terminal, control,
//! bidi and zero-width characters are shown escaped; for a spreadsheet, a cell that would run
//! as a formula gets a leading `'`.

/// Escapes what could move the cursor, recolour, reorder or hide text on a terminal.
pub fn escape_for_terminal(text: &str) -> String {
    if !text.chars().any(needs_escape) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// JSON text with the characters that [`escape_for_terminal`] escapes written as `\uXXXX`
/// escapes: the same JSON value (lossless), harmless on a terminal. Outside the white space
/// between tokens, such characters occur only inside strings, where the escape means the same
/// character.
pub fn escape_json_for_terminal(json: &str) -> String {
    let escape = |c: char| needs_escape(c) && !matches!(c, '\n' | '\r' | '\t');
    if !json.chars().any(escape) {
        return json.to_string();
    }
    let mut out = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        if escape(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200b}'..='\u{200f}'   // zero-width space/joiners, LRM, RLM
            | '\u{2028}'..='\u{202e}' // line/paragraph separators, bidi embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}' // bidi isolates
            | '\u{061c}'              // Arabic letter mark
            | '\u{feff}'              // zero-width no-break space
            | '\u{fff9}'..='\u{fffb}' // interlinear annotations
        )
}

/// Prefixes `'` to a cell a spreadsheet would run as a formula.
pub fn neutralize_formula(text: &str) -> std::borrow::Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}").into(),
        _ => text.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes_are_shown_not_run() {
        assert_eq!(escape_for_terminal("Ann\u{1b}[2J"), "Ann\\u{1b}[2J");
        assert_eq!(
            escape_for_terminal("a\u{202e}b\u{200b}c"),
            "a\\u{202e}b\\u{200b}c"
        );
        assert_eq!(escape_for_terminal("line1\nline2"), "line1\\nline2");
        assert_eq!(escape_for_terminal("张三 Tom"), "张三 Tom");
    }

    #[test]
    fn json_keeps_its_value_and_loses_its_escapes() {
        let value = serde_json::json!({"k\u{202e}": "a\u{1b}[2J\u{9b}b\u{7f}\u{200b}张"});
        for text in [
            value.to_string(),
            serde_json::to_string_pretty(&value).expect("json"),
        ] {
            let json = escape_json_for_terminal(&text);
            assert!(
                json.chars().all(|c| !needs_escape(c) || c == '\n'),
                "{json}"
            );
            assert!(
                json.contains("\\u202e") && json.contains("\\u009b"),
                "{json}"
            );
            assert_eq!(json.lines().count(), text.lines().count());
            let back: serde_json::Value = serde_json::from_str(&json).expect("json");
            assert_eq!(back, value);
        }
    }

    #[test]
    fn formulas_get_a_quote() {
        for f in ["=1+1", "+1", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(neutralize_formula(f).starts_with('\''), "{f:?}");
        }
        assert_eq!(neutralize_formula("Tom"), "Tom");
    }
}
