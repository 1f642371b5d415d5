import Foundation

/// A self-contained HTML report (inline SVG, no scripts, no external files): the training
/// loss and validation loss curves, the validation metric curves, and summary tables.
///
/// ```swift
/// let report = TrainingReport(title: "LoRA on rotten tomatoes", history: summary.history,
///                             summary: [("test accuracy", "0.812")])
/// try report.write(to: output.appendingPathComponent("report.html"))
/// ```
public struct TrainingReport: Sendable {
    public var title: String
    public var history: [LogRecord]
    public var summary: [(String, String)]
    /// An optional table comparing runs: header and rows.
    public var comparison: (header: [String], rows: [[String]])?

    public init(title: String, history: [LogRecord], summary: [(String, String)],
                comparison: (header: [String], rows: [[String]])? = nil) {
        self.title = title
        self.history = history
        self.summary = summary
        self.comparison = comparison
    }

    public func write(to url: URL) throws {
        try Data(html().utf8).write(to: url, options: .atomic)
    }

    public func html() -> String {
        let steps = history.filter { $0.event == .step }
        let evaluations = history.filter { $0.event == .evaluation && $0.metrics != nil }
        let lossChart = Chart(title: "loss", series: [
            .init(name: "training loss", color: "#4c78a8", points: smoothed(steps.compactMap { record in record.loss.map { (Double(record.step), $0) } })),
            .init(name: "validation loss", color: "#e45756", points: evaluations.map { (Double($0.step), $0.metrics!.loss) }),
        ])
        let metricChart = Chart(title: "validation metrics", series: [
            .init(name: "accuracy", color: "#54a24b", points: evaluations.map { (Double($0.step), $0.metrics!.accuracy) }),
            .init(name: "macro-F1", color: "#f58518", points: evaluations.map { (Double($0.step), $0.metrics!.macroF1) }),
        ])
        var body = "<h1>\(escape(title))</h1>\n"
        if let comparison { body += table(header: comparison.header, rows: comparison.rows) }
        body += table(header: ["setting", "value"], rows: summary.map { [$0.0, $0.1] })
        body += lossChart.svg() + metricChart.svg()
        return """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>\(escape(title))</title>
            <style>body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
            td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}td:first-child,th:first-child{text-align:left}
            svg{display:block;margin:1em 0}</style></head>
            <body>
            \(body)
            </body></html>

            """
    }

    /// A running mean over a window of 1/50 of the points, so a noisy loss reads as a curve.
    private func smoothed(_ points: [(Double, Double)]) -> [(Double, Double)] {
        let window = max(1, points.count / 50)
        var result: [(Double, Double)] = []
        var sum = 0.0
        for (index, point) in points.enumerated() {
            sum += point.1
            if index >= window { sum -= points[index - window].1 }
            result.append((point.0, sum / Double(min(index + 1, window))))
        }
        return result
    }

    private func table(header: [String], rows: [[String]]) -> String {
        "<table><tr>" + header.map { "<th>\(escape($0))</th>" }.joined() + "</tr>\n"
            + rows.map { "<tr>" + $0.map { "<td>\(escape($0))</td>" }.joined() + "</tr>\n" }.joined() + "</table>\n"
    }
}

/// A line chart as inline SVG.
struct Chart {
    struct Series {
        var name: String
        var color: String
        var points: [(Double, Double)]
    }

    var title: String
    var series: [Series]
    var width = 640.0, height = 320.0

    func svg() -> String {
        let all = series.flatMap(\.points)
        let margin = (left: 60.0, right: 20.0, top: 30.0, bottom: 40.0)
        var output = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\">\n"
        output += "<text x=\"\(margin.left)\" y=\"18\" font-size=\"14\" font-weight=\"bold\">\(escape(title))</text>\n"
        guard !all.isEmpty else { return output + "<text x=\"60\" y=\"60\" font-size=\"12\">no data</text></svg>\n" }
        let xs = all.map(\.0), ys = all.map(\.1)
        let (xMin, xMax) = (xs.min()!, max(xs.max()!, xs.min()! + 1))
        var (yMin, yMax) = (ys.min()!, ys.max()!)
        if yMax - yMin < 1e-9 { (yMin, yMax) = (yMin - 0.5, yMax + 0.5) }
        let plotWidth = width - margin.left - margin.right, plotHeight = height - margin.top - margin.bottom
        func x(_ value: Double) -> Double { margin.left + (value - xMin) / (xMax - xMin) * plotWidth }
        func y(_ value: Double) -> Double { margin.top + (1 - (value - yMin) / (yMax - yMin)) * plotHeight }
        output += "<rect x=\"\(margin.left)\" y=\"\(margin.top)\" width=\"\(plotWidth)\" height=\"\(plotHeight)\" fill=\"none\" stroke=\"#999\"/>\n"
        for tick in 0...4 {
            let value = yMin + (yMax - yMin) * Double(tick) / 4
            output += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%.3f</text>\n", margin.left - 4, y(value) + 3, value)
            let step = xMin + (xMax - xMin) * Double(tick) / 4
            output += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\">%.0f</text>\n", x(step), height - margin.bottom + 14, step)
        }
        output += "<text x=\"\(margin.left + plotWidth / 2)\" y=\"\(height - 6)\" font-size=\"11\" text-anchor=\"middle\">step</text>\n"
        for (index, line) in series.enumerated() where !line.points.isEmpty {
            let path = line.points.map { String(format: "%.1f,%.1f", x($0.0), y($0.1)) }.joined(separator: " ")
            output += "<polyline fill=\"none\" stroke=\"\(line.color)\" stroke-width=\"1.5\" points=\"\(path)\"/>\n"
            if line.points.count < 40 {
                for point in line.points {
                    output += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%@\"/>\n", x(point.0), y(point.1), line.color)
                }
            }
            let legendX = margin.left + 10 + Double(index) * 140
            output += "<rect x=\"\(legendX)\" y=\"\(margin.top + 8)\" width=\"10\" height=\"10\" fill=\"\(line.color)\"/>"
            output += "<text x=\"\(legendX + 14)\" y=\"\(margin.top + 17)\" font-size=\"11\">\(escape(line.name))</text>\n"
        }
        return output + "</svg>\n"
    }
}

func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}
