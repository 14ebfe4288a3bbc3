//! Makes text from Microsoft or customers safe to show on a terminal: control characters (which
//! could move the cursor, recolour or retitle the terminal) are replaced.

/// Replaces control characters (C0, DEL, C1, including ESC) with U+FFFD.
pub fn for_terminal(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_neutralised() {
        assert_eq!(
            for_terminal("Contoso\u{1b}[31m Ltd\n"),
            "Contoso\u{FFFD}[31m Ltd\u{FFFD}"
        );
        assert_eq!(for_terminal("Café Ünïcode"), "Café Ünïcode");
    }
}
