/// The alignment objectives of `t2ialign train` (specs/objectives.md).
public enum Objective: String, Codable, CaseIterable, Sendable {
    /// Diffusion-DPO against a frozen reference (β = 5000).
    case dpo
    /// MaPO, reference-free (β_mapo = 0.1).
    case mapo
    /// DCPO: Diffusion-DPO with one caption per image (β = 500).
    case dcpo
    /// Supervised fine-tuning on the preferred images only (the baseline).
    case sft

    /// The published default β of each objective; nil for SFT, which has none.
    public var defaultBeta: Double? {
        switch self {
        case .dpo: return Double(DiffusionDPOLoss.defaultBeta)
        case .dcpo: return 500
        // A decimal, as config.json records it: Double(0.1 as Float) is 0.10000000149011612. A test checks
        // that it is MaPOLoss.defaultBeta.
        case .mapo: return 0.1
        case .sft: return nil
        }
    }

    /// Whether a frozen reference network is kept (and run, without a graph) at every step.
    public var needsReference: Bool { self == .dpo || self == .dcpo }

    /// Whether the losers' images are used at all.
    public var usesLosers: Bool { self != .sft }
}
