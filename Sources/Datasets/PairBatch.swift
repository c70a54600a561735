/// B preference pairs ready for a trainer: winner and loser images as flat CHW Float arrays in [-1, 1]
/// (layout [B, 3, R, R], pair-major), with their texts and user ids, all in winner-first order.
public struct PairBatch: Sendable, Equatable {
    public let size: Int
    public let resolution: Int
    /// [B, 3, R, R]: the preferred image of each pair.
    public var winners: [Float]
    /// [B, 3, R, R]: the other image.
    public var losers: [Float]
    /// The prompt both images were generated from (`caption`).
    public var prompts: [String]
    /// Per-image captions after the winner-first swap (caption_0/caption_1), nil when absent.
    public var winnerCaptions: [String?]
    public var loserCaptions: [String?]
    public var userIDs: [Int]
    /// 0.5/0.5 judgements (only when the dataset keeps ties).
    public var isTie: [Bool]
    /// num_example_per_prompt of each row, when present (PickScore weights rows by its inverse).
    public var examplesPerPrompt: [Int?]
    /// Index of each pair in its `PairDataset`, and its 1-based line in the split file.
    public var pairIndices: [Int]
    public var lines: [Int]
    /// Whether each pair was mirrored by augmentation.
    public var flipped: [Bool]

    /// Floats per image (3·R·R).
    public var imageStride: Int { 3 * resolution * resolution }
    /// [B, 3, R, R], the shape of `winners` and `losers`.
    public var imageShape: [Int] { [size, 3, resolution, resolution] }
}
