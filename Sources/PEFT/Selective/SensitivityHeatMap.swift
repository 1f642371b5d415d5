import Foundation

extension SensitivityReport {
    /// An SVG heat map: one row per layer, one column per module kind (query, key, value,
    /// attention.output.dense ...), each cell the module's mean score per parameter on a
    /// logarithmic colour scale from pale (least) to dark red (most); zero cells are grey.
    ///
    /// ```swift
    /// try Data(report.heatMapSVG(score: .taylor).utf8).write(to: url)
    /// ```
    public func heatMapSVG(score: SensitivityScore) -> String {
        let layered = modules.filter { $0.layer != nil }
        var kinds: [String] = []
        for module in layered where !kinds.contains(module.kind!) { kinds.append(module.kind!) }
        let layerIndices = Array(Set(layered.map { $0.layer! })).sorted()
        var cells: [String: Double] = [:]
        for module in layered { cells["\(module.layer!)|\(module.kind!)"] = module.mean[score] }
        let positive = cells.values.filter { $0 > 0 }
        let low = Foundation.log10(positive.min() ?? 1), high = Foundation.log10(positive.max() ?? 1)

        let (cellWidth, cellHeight, left, top) = (84, 30, 70, 150)
        let width = left + cellWidth * kinds.count + 160, height = top + cellHeight * layerIndices.count + 40
        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" font-family="sans-serif" font-size="11">
        <text x="10" y="20" font-size="14">Sensitivity (\(score.rawValue), mean per parameter, log scale; \(sampleCount) samples)</text>

        """
        for (column, kind) in kinds.enumerated() {
            let x = left + column * cellWidth + cellWidth / 2
            svg += "<text transform=\"translate(\(x),\(top - 8)) rotate(-40)\">\(escaped(kind))</text>\n"
        }
        for (row, layer) in layerIndices.enumerated() {
            let y = top + row * cellHeight
            svg += "<text x=\"10\" y=\"\(y + cellHeight / 2 + 4)\">layer \(layer)</text>\n"
            for (column, kind) in kinds.enumerated() {
                let x = left + column * cellWidth
                guard let value = cells["\(layer)|\(kind)"] else { continue }
                let t = value > 0 ? (high > low ? (Foundation.log10(value) - low) / (high - low) : 1) : nil
                let fill = t.map(color) ?? "#dddddd"
                let label = value > 0 ? String(format: "%.2e", value) : "0"
                svg += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(cellWidth - 2)\" height=\"\(cellHeight - 2)\" fill=\"\(fill)\"/>"
                svg += "<text x=\"\(x + 6)\" y=\"\(y + cellHeight / 2 + 4)\" fill=\"\((t ?? 0) > 0.6 ? "white" : "black")\">\(label)</text>\n"
            }
        }
        return svg + "</svg>\n"
    }

    /// Pale yellow (t = 0) to dark red (t = 1).
    private func color(_ t: Double) -> String {
        let stops: [(Double, Double, Double)] = [(255, 247, 236), (252, 141, 89), (127, 0, 0)]
        let scaled = Swift.min(Swift.max(t, 0), 1) * Double(stops.count - 1)
        let index = Swift.min(Int(scaled), stops.count - 2), fraction = scaled - Double(index)
        let (a, b) = (stops[index], stops[index + 1])
        func mix(_ x: Double, _ y: Double) -> Int { Int((x + (y - x) * fraction).rounded()) }
        return String(format: "#%02x%02x%02x", mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }

    private func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
    }
}
