// ImageGrid: contact sheets (images with captions, optional row/column labels and a title) for data inspect,
// sample and eval.

public enum ImageGrid {
    public struct Style: Sendable {
        /// Space around and between cells, in pixels.
        public var padding = 6
        /// Font scale for captions, labels and title.
        public var textScale = 1
        /// Captions longer than this many wrapped lines end in "...".
        public var maxCaptionLines = 3
        public var background: (UInt8, UInt8, UInt8) = (255, 255, 255)
        public var text: (UInt8, UInt8, UInt8) = (20, 20, 20)
        /// Row labels wrap at this many characters (keeps one long label from widening the whole sheet).
        public var maxRowLabelCharacters = 16

        public init() {}
    }

    /// Where everything goes; `make` draws it. Exposed so callers can mark cells (e.g. frame a winner).
    public struct Layout: Sendable, Equatable {
        public var width: Int, height: Int
        public var columns: Int, rows: Int
        /// Size of every cell's image slot (the largest image × cellScale).
        public var slotWidth: Int, slotHeight: Int
        /// Top-left of the slot of cell `i` is (gridLeft + (i % columns)·columnPitch, gridTop + (i / columns)·rowPitch).
        public var gridLeft: Int, gridTop: Int
        public var columnPitch: Int, rowPitch: Int
        /// Lines reserved under every slot for captions (the longest caption, capped).
        public var captionLines: Int

        public func slotOrigin(cell index: Int) -> (x: Int, y: Int) {
            (gridLeft + (index % columns) * columnPitch, gridTop + (index / columns) * rowPitch)
        }
    }

    /// Lays `cells` out row by row, `columns` per row, each image upscaled `cellScale`× (nearest) with its
    /// caption wrapped and centred underneath. Cells of different sizes are centred in a slot the size of
    /// the largest. `rowLabels` go left of each row and `columnLabels` above each column (missing entries
    /// are left blank, extra ones ignored); `title` spans the top.
    public static func make(cells: [(RGBImage, caption: String)], columns: Int, cellScale: Int = 1,
                            rowLabels: [String] = [], columnLabels: [String] = [], title: String? = nil,
                            style: Style = Style()) -> RGBImage {
        let plan = Plan(cells: cells, columns: columns, cellScale: cellScale, rowLabels: rowLabels,
                        columnLabels: columnLabels, title: title, style: style)
        let layout = plan.layout
        let pad = style.padding, scale = style.textScale, lineStep = BitmapFont.lineHeight * scale
        var canvas = Canvas(width: layout.width, height: layout.height, background: style.background)

        for (index, line) in plan.titleLines.enumerated() {
            canvas.drawText(line, x: pad, y: pad + index * lineStep, color: style.text, scale: scale)
        }
        for (column, lines) in plan.columnLabelLines.enumerated() {
            let x = layout.gridLeft + column * layout.columnPitch
            drawCentred(lines, in: &canvas, left: x, width: layout.slotWidth, top: plan.columnLabelTop, style: style)
        }
        for (row, lines) in plan.rowLabelLines.prefix(layout.rows).enumerated() {
            let slotTop = layout.gridTop + row * layout.rowPitch
            let top = slotTop + max(0, (layout.slotHeight - BitmapFont.height(lines: lines.count, scale: scale)) / 2)
            for (index, line) in lines.enumerated() {
                canvas.drawText(line, x: pad, y: top + index * lineStep, color: style.text, scale: scale)
            }
        }
        for (index, cell) in cells.enumerated() {
            let (x, y) = layout.slotOrigin(cell: index)
            let image = cell.0
            canvas.paste(image, x: x + (layout.slotWidth - image.width * cellScale) / 2,
                         y: y + (layout.slotHeight - image.height * cellScale) / 2, scale: cellScale)
            drawCentred(plan.captions[index], in: &canvas, left: x, width: layout.slotWidth,
                        top: y + layout.slotHeight + pad / 2, style: style)
        }
        return canvas.image
    }

    /// The layout `make` would use for the same arguments.
    public static func layout(cells: [(RGBImage, caption: String)], columns: Int, cellScale: Int = 1,
                              rowLabels: [String] = [], columnLabels: [String] = [], title: String? = nil,
                              style: Style = Style()) -> Layout {
        Plan(cells: cells, columns: columns, cellScale: cellScale, rowLabels: rowLabels,
             columnLabels: columnLabels, title: title, style: style).layout
    }

    /// The caption wrapped to the slot, cut to `maxCaptionLines` with "..." marking the cut.
    static func captionLines(_ caption: String, width: Int, style: Style) -> [String] {
        if caption.isEmpty { return [] }
        var lines = BitmapFont.wrap(caption, maxWidth: width, scale: style.textScale)
        let limit = max(1, style.maxCaptionLines)
        if lines.count > limit {
            lines = Array(lines.prefix(limit))
            let perLine = BitmapFont.charactersPerLine(maxWidth: width, scale: style.textScale)
            lines[limit - 1] = String(lines[limit - 1].prefix(max(0, perLine - 3))) + "..."
        }
        return lines
    }

    private static func drawCentred(_ lines: [String], in canvas: inout Canvas, left: Int, width: Int, top: Int,
                                    style: Style) {
        for (index, line) in lines.enumerated() {
            let lineWidth = BitmapFont.width(of: line, scale: style.textScale)
            canvas.drawText(line, x: left + max(0, (width - lineWidth) / 2),
                            y: top + index * BitmapFont.lineHeight * style.textScale,
                            color: style.text, scale: style.textScale)
        }
    }

    /// Wrapped texts and the layout, computed once for `make` and `layout`.
    private struct Plan {
        var layout: Layout
        var captions: [[String]]
        var titleLines: [String]
        var rowLabelLines: [[String]]
        var columnLabelLines: [[String]]
        var columnLabelTop: Int

        init(cells: [(RGBImage, caption: String)], columns: Int, cellScale: Int, rowLabels: [String],
             columnLabels: [String], title: String?, style: Style) {
            precondition(columns >= 1, "ImageGrid: columns \(columns) must be at least 1")
            precondition(cellScale >= 1, "ImageGrid: cellScale \(cellScale) must be at least 1")
            precondition(style.textScale >= 1 && style.padding >= 0, "ImageGrid: textScale ≥ 1 and padding ≥ 0 required")
            let pad = style.padding, scale = style.textScale
            let rows = (cells.count + columns - 1) / columns
            // At least one character wide, so captions still wrap sensibly under tiny images.
            let slotWidth = max(cells.map { $0.0.width * cellScale }.max() ?? 0, BitmapFont.width(of: "M", scale: scale))
            let slotHeight = cells.map { $0.0.height * cellScale }.max() ?? 0

            captions = cells.map { ImageGrid.captionLines($0.caption, width: slotWidth, style: style) }
            let captionLines = captions.map(\.count).max() ?? 0
            let captionHeight = captionLines == 0 ? 0 : BitmapFont.height(lines: captionLines, scale: scale) + pad / 2

            let longestRowLabel = rowLabels.map { BitmapFont.width(of: $0, scale: scale) }.max() ?? 0
            let rowLabelWidth = min(longestRowLabel,
                                    BitmapFont.width(of: String(repeating: "M", count: max(1, style.maxRowLabelCharacters)),
                                                     scale: scale))
            rowLabelLines = rowLabelWidth == 0 ? [] : rowLabels.map { BitmapFont.wrap($0, maxWidth: rowLabelWidth, scale: scale) }
            columnLabelLines = columnLabels.prefix(columns).map { BitmapFont.wrap($0, maxWidth: slotWidth, scale: scale) }
            let columnLabelLineCount = columnLabelLines.map { $0.allSatisfy(\.isEmpty) ? 0 : $0.count }.max() ?? 0
            let columnLabelHeight = BitmapFont.height(lines: columnLabelLineCount, scale: scale)

            let gridLeft = pad + (rowLabelWidth > 0 ? rowLabelWidth + pad : 0)
            let columnPitch = slotWidth + pad
            let width = gridLeft + columns * columnPitch
            titleLines = title.map { $0.isEmpty ? [] : BitmapFont.wrap($0, maxWidth: width - 2 * pad, scale: scale) } ?? []
            let titleHeight = titleLines.isEmpty ? 0 : BitmapFont.height(lines: titleLines.count, scale: scale) + pad
            columnLabelTop = pad + titleHeight
            let gridTop = columnLabelTop + (columnLabelHeight > 0 ? columnLabelHeight + pad : 0)
            let rowPitch = slotHeight + captionHeight + pad
            layout = Layout(width: width, height: max(gridTop + rows * rowPitch, 2 * pad, 1), columns: columns, rows: rows,
                            slotWidth: slotWidth, slotHeight: slotHeight, gridLeft: gridLeft, gridTop: gridTop,
                            columnPitch: columnPitch, rowPitch: rowPitch, captionLines: captionLines)
        }
    }
}
