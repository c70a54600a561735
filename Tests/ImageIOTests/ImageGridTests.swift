// ImageGrid contact sheets: cells at their layout slots, captions under them, labels, truncation.
import ImageIO
import XCTest

final class ImageGridTests: XCTestCase {
    private func cells(_ count: Int) -> [(RGBImage, caption: String)] {
        (0..<count).map { i in (randomImage(width: 8, height: 6, seed: UInt64(100 + i)), caption: "cell \(i)") }
    }

    func testCellsArePastedUpscaledAtTheirSlots() {
        let cells = cells(5)
        let args = (columns: 2, scale: 3)
        let layout = ImageGrid.layout(cells: cells, columns: args.columns, cellScale: args.scale,
                                      rowLabels: ["seed 0", "seed 1", "seed 2"], columnLabels: ["base", "dpo"], title: "samples")
        let sheet = ImageGrid.make(cells: cells, columns: args.columns, cellScale: args.scale,
                                   rowLabels: ["seed 0", "seed 1", "seed 2"], columnLabels: ["base", "dpo"], title: "samples")
        XCTAssertEqual([sheet.width, sheet.height], [layout.width, layout.height])
        XCTAssertEqual([layout.rows, layout.slotWidth, layout.slotHeight], [3, 24, 18])
        for (index, cell) in cells.enumerated() {
            let (ox, oy) = layout.slotOrigin(cell: index)
            for y in 0..<18 {
                for x in 0..<24 {
                    XCTAssertTrue(sheet[ox + x, oy + y] == cell.0[x / 3, y / 3], "cell \(index) at (\(x), \(y))")
                }
            }
        }
    }

    func testCaptionsLabelsAndTitleAreDrawnWhereLaidOut() {
        var style = ImageGrid.Style()
        style.text = (0, 0, 255)
        let cells = cells(3)
        let layout = ImageGrid.layout(cells: cells, columns: 2, cellScale: 4, rowLabels: ["r0", "r1"],
                                      columnLabels: ["c0", "c1"], title: "title", style: style)
        let sheet = ImageGrid.make(cells: cells, columns: 2, cellScale: 4, rowLabels: ["r0", "r1"],
                                   columnLabels: ["c0", "c1"], title: "title", style: style)
        func ink(x: Range<Int>, y: Range<Int>) -> Int {
            var count = 0
            for yy in y { for xx in x where sheet[xx, yy] == style.text { count += 1 } }
            return count
        }
        // "cell 0" does not fit 5 characters per 32-px slot: every caption wraps to two lines.
        XCTAssertEqual(layout.captionLines, BitmapFont.wrap("cell 0", maxWidth: 32).count)
        XCTAssertEqual(layout.captionLines, 2)
        for index in 0..<3 {
            let (ox, oy) = layout.slotOrigin(cell: index)
            let captionTop = oy + layout.slotHeight
            XCTAssertGreaterThan(ink(x: ox..<ox + layout.slotWidth, y: captionTop..<captionTop + layout.rowPitch - layout.slotHeight), 0,
                                 "caption of cell \(index)")
        }
        // The empty fourth slot and its caption area stay background.
        let (ex, ey) = layout.slotOrigin(cell: 3)
        XCTAssertEqual(ink(x: ex..<ex + layout.slotWidth, y: ey..<ey + layout.rowPitch - style.padding), 0)
        XCTAssertTrue(sheet[ex + 3, ey + 3] == style.background)
        // Row labels left of the grid, column labels and title above it.
        XCTAssertGreaterThan(ink(x: 0..<layout.gridLeft, y: layout.gridTop..<layout.height), 0)
        XCTAssertGreaterThan(ink(x: layout.gridLeft..<layout.width, y: 0..<layout.gridTop), 0)
    }

    func testLongCaptionsAreCutWithEllipsis() {
        var style = ImageGrid.Style()
        style.maxCaptionLines = 2
        let long = String(repeating: "word ", count: 40)
        let lines = ImageGrid.layout(cells: [(RGBImage(width: 10, height: 10, fill: (0, 0, 0)), caption: long)], columns: 1,
                                     cellScale: 3, style: style).captionLines
        XCTAssertEqual(lines, 2)
    }

    func testEmptyGridAndTinyCellsDoNotTrap() {
        let empty = ImageGrid.make(cells: [], columns: 3, title: "nothing yet")
        XCTAssertGreaterThan(empty.width, 0)
        XCTAssertGreaterThan(empty.height, 0)
        let tiny = ImageGrid.make(cells: [(RGBImage(width: 1, height: 1, fill: (0, 0, 0)), caption: "a long caption")],
                                  columns: 1)
        XCTAssertGreaterThan(tiny.width, 0)
    }

    func testSheetSurvivesPNGRoundTrip() throws {
        let sheet = ImageGrid.make(cells: cells(4), columns: 2, cellScale: 2, title: "round trip")
        XCTAssertEqual(try ImageFile.decode(try ImageFile.encodePNG(sheet), source: "sheet"), sheet)
    }
}
