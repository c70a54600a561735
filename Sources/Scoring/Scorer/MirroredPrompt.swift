/// The prompt of a horizontally mirrored image: the words "left" and "right" swapped (whole words, any
/// case kept), so "at the top left" stays true of the flipped picture. Everything else is unchanged —
/// the Shapes world's other attributes (and its vertical gradient) are mirror-symmetric.
public enum MirroredPrompt {
    public static func of(_ prompt: String) -> String {
        var out = ""
        var word = ""
        func flush() {
            switch word.lowercased() {
            case "left": out += swapCase(of: word, to: "right")
            case "right": out += swapCase(of: word, to: "left")
            default: out += word
            }
            word = ""
        }
        for ch in prompt {
            if ch.isLetter { word.append(ch) } else { flush(); out.append(ch) }
        }
        flush()
        return out
    }

    /// `replacement` written in the case pattern of `word` (lower, UPPER or Capitalised).
    static func swapCase(of word: String, to replacement: String) -> String {
        if word == word.uppercased() { return replacement.uppercased() }
        if word.first?.isUppercase == true { return replacement.prefix(1).uppercased() + replacement.dropFirst() }
        return replacement
    }
}
