/// One Pick-a-Pic row: a pair of images for one caption, judged by one user.
///
/// The JSON keys are the Pick-a-Pic column names (`caption`, `jpg_0`, `label_0`, `user_id`, …), so a row
/// written here reads like a row of the real dataset. `jpg0`/`jpg1` hold image paths relative to the
/// dataset directory (the real shards hold JPEG bytes; the importer writes them to files).
/// Meanings: /work/shared/specs/pickapic-format.md.
public struct PairRow: Codable, Sendable, Equatable {
    public var caption: String
    public var jpg0: String, jpg1: String
    /// 1/0 when image 0/1 was preferred, 0.5/0.5 for a tie.
    public var label0: Double, label1: Double
    public var userID: Int, rankingID: Int
    public var image0UID: String, image1UID: String
    /// The uid of the preferred image; empty for a tie.
    public var bestImageUID: String
    public var model0: String, model1: String
    /// False for rows never judged; readers skip them.
    public var hasLabel: Bool
    /// False when both images are the same; readers skip them.
    public var areDifferent: Bool
    /// ISO-8601 time of the judgement.
    public var createdAt: String
    /// Rows sharing this caption (PickScore weights each row by its inverse).
    public var numExamplePerPrompt: Int?
    /// One caption per image (Pick-Double-Caption style, used by DCPO).
    public var caption0: String?, caption1: String?

    public init(caption: String, jpg0: String, jpg1: String, label0: Double, label1: Double,
                userID: Int, rankingID: Int, image0UID: String, image1UID: String, bestImageUID: String,
                model0: String, model1: String, hasLabel: Bool, areDifferent: Bool, createdAt: String,
                numExamplePerPrompt: Int? = nil, caption0: String? = nil, caption1: String? = nil) {
        self.caption = caption
        self.jpg0 = jpg0
        self.jpg1 = jpg1
        self.label0 = label0
        self.label1 = label1
        self.userID = userID
        self.rankingID = rankingID
        self.image0UID = image0UID
        self.image1UID = image1UID
        self.bestImageUID = bestImageUID
        self.model0 = model0
        self.model1 = model1
        self.hasLabel = hasLabel
        self.areDifferent = areDifferent
        self.createdAt = createdAt
        self.numExamplePerPrompt = numExamplePerPrompt
        self.caption0 = caption0
        self.caption1 = caption1
    }

    /// The Pick-a-Pic column names, in the dataset's order.
    public enum CodingKeys: String, CodingKey, CaseIterable, Sendable {
        case caption
        case jpg0 = "jpg_0", jpg1 = "jpg_1"
        case label0 = "label_0", label1 = "label_1"
        case userID = "user_id", rankingID = "ranking_id"
        case image0UID = "image_0_uid", image1UID = "image_1_uid", bestImageUID = "best_image_uid"
        case model0 = "model_0", model1 = "model_1"
        case hasLabel = "has_label", areDifferent = "are_different"
        case createdAt = "created_at"
        case numExamplePerPrompt = "num_example_per_prompt"
        case caption0 = "caption_0", caption1 = "caption_1"

        /// Columns a row may omit (or set to null).
        public var isOptional: Bool {
            self == .numExamplePerPrompt || self == .caption0 || self == .caption1
        }
    }

    /// True for a 0.5/0.5 judgement.
    public var isTie: Bool { label0 == 0.5 && label1 == 0.5 }
}
