import ImageIO

/// A contact sheet of sample pairs for `data inspect`: one row per pair, the preferred image left and
/// the other right (as the model sees them: resized and cropped to the dataset resolution), the prompt
/// as the row label, and under each image its label, generator and per-image caption when present.
public enum PairContactSheet {
    /// Indices of `count` pairs spread evenly over the dataset (deterministic).
    public static func sampleIndices(of dataset: PairDataset, count: Int) -> [Int] {
        let n = dataset.count
        guard n > 0, count > 0 else { return [] }
        let k = min(count, n)
        return (0..<k).map { $0 * n / k }
    }

    /// Renders the sheet; images are upscaled `cellScale`× (nearest) for legibility.
    public static func make(dataset: PairDataset, count: Int = 8, cellScale: Int? = nil) throws -> RGBImage {
        let indices = sampleIndices(of: dataset, count: count)
        guard !indices.isEmpty else {
            throw DatasetError.noPairs(file: dataset.file, detail: "nothing to put on a contact sheet")
        }
        let scale = cellScale ?? max(1, 96 / dataset.resolution)
        var cells: [(RGBImage, caption: String)] = []
        var rowLabels: [String] = []
        for index in indices {
            let pair = try dataset.pair(at: index)
            let images = try dataset.images(of: pair)
            let (winLabel, loseLabel) = pair.isTie ? ("tie 0.5", "tie 0.5") : ("preferred 1", "other 0")
            cells.append((dataset.transform.apply(images.winner),
                          caption: describe(winLabel, pair.winnerModel, pair.winnerCaption)))
            cells.append((dataset.transform.apply(images.loser),
                          caption: describe(loseLabel, pair.loserModel, pair.loserCaption)))
            rowLabels.append("\(pair.prompt) (user \(pair.userID), line \(pair.line))")
        }
        var style = ImageGrid.Style()
        style.maxCaptionLines = 4
        style.maxRowLabelCharacters = 24
        let title = "\(dataset.directory) / \(dataset.split): \(dataset.count) pairs, showing \(indices.count)"
        return ImageGrid.make(cells: cells, columns: 2, cellScale: scale, rowLabels: rowLabels,
                              columnLabels: ["preferred", "other"], title: title, style: style)
    }

    private static func describe(_ label: String, _ model: String, _ caption: String?) -> String {
        var text = "\(label) - \(model)"
        if let caption, !caption.isEmpty { text += ": \(caption)" }
        return text
    }
}
