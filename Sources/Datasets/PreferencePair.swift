/// A judged row in winner-first order: image, caption and generator of the preferred image come first.
/// When label_0 = 0 the row's image 1 won, so the two sides are swapped; a kept tie keeps the row's order.
public struct PreferencePair: Sendable, Equatable {
    public var prompt: String
    /// Image paths relative to the dataset directory.
    public var winnerImage: String, loserImage: String
    /// Per-image captions (caption_0/caption_1 after the swap), when the dataset has them.
    public var winnerCaption: String?, loserCaption: String?
    public var winnerModel: String, loserModel: String
    public var userID: Int
    public var rankingID: Int
    /// A 0.5/0.5 judgement (only present when ties are kept).
    public var isTie: Bool
    public var numExamplePerPrompt: Int?
    /// 1-based line of the row in its split file.
    public var line: Int
    /// True when the row's image 1 won (the sides were swapped).
    public var swapped: Bool

    public init(row: PairRow, line: Int) {
        let swap = row.label0 == 0
        prompt = row.caption
        winnerImage = swap ? row.jpg1 : row.jpg0
        loserImage = swap ? row.jpg0 : row.jpg1
        winnerCaption = swap ? row.caption1 : row.caption0
        loserCaption = swap ? row.caption0 : row.caption1
        winnerModel = swap ? row.model1 : row.model0
        loserModel = swap ? row.model0 : row.model1
        userID = row.userID
        rankingID = row.rankingID
        isTie = row.isTie
        numExamplePerPrompt = row.numExamplePerPrompt
        self.line = line
        swapped = swap
    }

    /// The Pick-a-Pic columns of the winner's and the loser's image (for error messages).
    public var imageColumns: (winner: String, loser: String) { swapped ? ("jpg_1", "jpg_0") : ("jpg_0", "jpg_1") }
}
