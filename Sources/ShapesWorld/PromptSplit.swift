import Files

/// The fixed train/validation/test split of the Shapes prompts (shapes-world.md §2).
///
/// A prompt's split is FNV-1a 64 of its UTF-8 bytes, modulo 10: 0–7 train, 8 validation, 9 test. It
/// depends on the prompt string alone (not on a seed), so every dataset, model and evaluation of the
/// project agrees on which prompts are held out; test prompts never appear in training data.
/// Over the 3,024 prompts this gives 2,404 train, 334 validation and 286 test prompts.
public enum PromptSplit: String, CaseIterable, Sendable, Codable {
    case train, validation, test

    public static func of(_ prompt: String) -> PromptSplit {
        switch fnv1a64(prompt) % 10 {
        case 0...7: return .train
        case 8: return .validation
        default: return .test
        }
    }

    /// The hash that splits prompts: FNV-1a 64 of the prompt's UTF-8 bytes.
    public static func fnv1a64(_ text: String) -> UInt64 { FNV1a64.hash(text) }
}
