import Foundation

/// Small line charts for training curves (loss, accuracy, …) as PNG-ready images: one panel per metric,
/// stacked vertically, each with its own y range, min/max labels and a legend. Noisy per-step series are
/// drawn as a moving average (the raw points in a light tint behind it).
public enum LinePlot {
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var color: (UInt8, UInt8, UInt8)
        public init(name: String, points: [(x: Double, y: Double)], color: (UInt8, UInt8, UInt8)) {
            self.name = name
            self.points = points.filter { $0.x.isFinite && $0.y.isFinite }
            self.color = color
        }
    }

    public struct Panel: Sendable {
        public var title: String
        public var series: [Series]
        public init(title: String, series: [Series]) {
            self.title = title
            self.series = series
        }
    }

    public static let palette: [(UInt8, UInt8, UInt8)] = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14)]

    public static func render(title: String, panels: [Panel], width: Int = 480, panelHeight: Int = 170) -> RGBImage {
        let header = 18
        var canvas = Canvas(width: width, height: header + panels.count * panelHeight)
        canvas.drawText(title, x: 6, y: 4, color: (0, 0, 0))
        for (k, panel) in panels.enumerated() {
            draw(panel, on: &canvas, top: header + k * panelHeight, width: width, height: panelHeight)
        }
        return canvas.image
    }

    static func draw(_ panel: Panel, on canvas: inout Canvas, top: Int, width: Int, height: Int) {
        let left = 58, right = width - 10, plotTop = top + 14, bottom = top + height - 22
        canvas.drawText(panel.title, x: left, y: top + 2, color: (0, 0, 0))
        canvas.strokeRectangle(x: left, y: plotTop, width: right - left + 1, height: bottom - plotTop + 1, color: (120, 120, 120))
        let all = panel.series.flatMap(\.points)
        guard let minX = all.map(\.x).min(), let maxX = all.map(\.x).max(),
              var minY = all.map(\.y).min(), var maxY = all.map(\.y).max() else {
            canvas.drawText("no data", x: left + 8, y: plotTop + 8, color: (120, 120, 120))
            return
        }
        if maxY - minY < 1e-12 { minY -= 0.5; maxY += 0.5 }
        let spanX = max(maxX - minX, 1e-12)
        func px(_ x: Double) -> Int { left + 1 + Int((x - minX) / spanX * Double(right - left - 2)) }
        func py(_ y: Double) -> Int { bottom - 1 - Int((y - minY) / (maxY - minY) * Double(bottom - plotTop - 2)) }
        canvas.drawText(label(maxY), x: 2, y: plotTop, color: (60, 60, 60))
        canvas.drawText(label(minY), x: 2, y: bottom - 8, color: (60, 60, 60))
        canvas.drawText(label(minX), x: left, y: bottom + 4, color: (60, 60, 60))
        let maxText = label(maxX)
        canvas.drawText(maxText, x: right - BitmapFont.width(of: maxText), y: bottom + 4, color: (60, 60, 60))

        var legendX = left + BitmapFont.width(of: panel.title) + 16
        for s in panel.series where !s.points.isEmpty {
            let tint = (UInt8(155 + Int(s.color.0) * 100 / 255), UInt8(155 + Int(s.color.1) * 100 / 255),
                        UInt8(155 + Int(s.color.2) * 100 / 255))
            if s.points.count > 40 {
                for p in s.points { canvas.fillRectangle(x: px(p.x), y: py(p.y), width: 1, height: 1, color: tint) }
            }
            let smooth = movingAverage(s.points, window: max(1, s.points.count / 40))
            for (a, b) in zip(smooth, smooth.dropFirst()) {
                line(&canvas, px(a.x), py(a.y), px(b.x), py(b.y), s.color)
            }
            canvas.fillRectangle(x: legendX, y: top + 4, width: 8, height: 4, color: s.color)
            canvas.drawText(s.name, x: legendX + 11, y: top + 2, color: s.color)
            legendX += 20 + BitmapFont.width(of: s.name)
        }
    }

    static func movingAverage(_ p: [(x: Double, y: Double)], window: Int) -> [(x: Double, y: Double)] {
        guard window > 1 else { return p }
        var out: [(x: Double, y: Double)] = []
        var sum = 0.0
        for i in 0..<p.count {
            sum += p[i].y
            if i >= window { sum -= p[i - window].y }
            if i >= window - 1 { out.append((p[i].x, sum / Double(window))) }
        }
        return out
    }

    /// Bresenham, 2 pixels thick.
    static func line(_ c: inout Canvas, _ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ color: (UInt8, UInt8, UInt8)) {
        var x = x0, y = y0
        let dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var err = dx + dy
        while true {
            c.fillRectangle(x: x, y: y, width: 2, height: 2, color: color)
            if x == x1 && y == y1 { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
        }
    }

    static func label(_ v: Double) -> String {
        let a = abs(v)
        if a >= 1000 || (a < 0.01 && a > 0) { return String(format: "%.2e", v) }
        return String(format: a >= 10 ? "%.1f" : "%.3f", v)
    }
}
