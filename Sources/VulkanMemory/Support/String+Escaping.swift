extension String {
    /// The string with every character that could break or forge a line of text written
    /// as `\u{…}`: control characters (C0 with NUL, tab, line feed and carriage return;
    /// DEL; C1), the line and paragraph separators U+2028 and U+2029, the byte-order mark
    /// U+FEFF, and the bidirectional overrides and isolates (U+202A–U+202E,
    /// U+2066–U+2069) that make text display in another order than it is stored.
    ///
    /// Names are kept as the user gave them in every value the API returns (reports,
    /// statistics, events); this form is for what goes into a line of text: log lines,
    /// error descriptions and recordings, so a name can never end a line early, start a
    /// forged one, or hide what follows it.
    ///
    /// - Complexity: O(n) in the string's length; a string with nothing to escape is
    ///   returned as it is, without copying.
    var escapingControlCharacters: String {
        guard unicodeScalars.contains(where: Self.needsEscape) else { return self }
        var escaped = ""
        escaped.reserveCapacity(utf8.count + 8)
        for scalar in unicodeScalars {
            if Self.needsEscape(scalar) {
                escaped += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            } else {
                escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029, 0xFEFF, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }
}

extension String {
    /// The string as text inside HTML or SVG (XML), in an element or a quoted attribute:
    /// `&`, `<`, `>`, `"` and `'` as character references, so a name can never close an
    /// element or an attribute, open a tag or run as script; and the characters
    /// `escapingControlCharacters` escapes written that way first, since XML forbids most
    /// control characters and the others could hide or reorder what a person reads.
    ///
    /// - Complexity: O(n) in the string's length.
    var escapingMarkup: String {
        var escaped = ""
        let source = escapingControlCharacters
        escaped.reserveCapacity(source.utf8.count)
        for character in source.unicodeScalars {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }
}
