import Foundation

/// Sensitivity scores summed per tensor, module and layer, with JSON and an SVG heat map.
///
/// A tensor's layer is the number after `layer.`, `layers.`, `h.` or `block(s).` in its path
/// (`bert.encoder.layer.3.attention.self.query.weight` is layer 3) and its kind is the module
/// path after that number (`attention.self.query`); tensors outside numbered layers (embeddings,
/// pooler, head) have no layer and their module path as kind.
///
/// ```swift
/// let report = analysis.report()
/// try report.jsonData().write(to: folder.appendingPathComponent("sensitivity.json"))
/// try Data(report.heatMapSVG(score: .fisher).utf8).write(to: folder.appendingPathComponent("sensitivity.svg"))
/// ```
public struct SensitivityReport: Codable, Sendable {
    /// One number per score kind.
    public struct Values: Codable, Sendable, Equatable {
        public var taylor = 0.0
        public var fisher = 0.0
        public var magnitude = 0.0

        public subscript(kind: SensitivityScore) -> Double {
            get { switch kind { case .taylor: taylor; case .fisher: fisher; case .magnitude: magnitude } }
            set {
                switch kind {
                case .taylor: taylor = newValue
                case .fisher: fisher = newValue
                case .magnitude: magnitude = newValue
                }
            }
        }

        static func + (lhs: Values, rhs: Values) -> Values {
            Values(taylor: lhs.taylor + rhs.taylor, fisher: lhs.fisher + rhs.fisher, magnitude: lhs.magnitude + rhs.magnitude)
        }
    }

    /// The scores of one parameter tensor: sums over its elements and the largest element.
    public struct TensorScores: Codable, Sendable {
        public let path: String
        public let shape: [Int]
        public let parameterCount: Int
        public let module: String
        public let layer: Int?
        public let kind: String
        public let total: Values
        public let maximum: Values

        public init(path: String, shape: [Int], totals: [SensitivityScore: Double], maxima: [SensitivityScore: Double]) {
            self.path = path
            self.shape = shape
            parameterCount = shape.reduce(1, *)
            let components = path.split(separator: ".").map(String.init)
            module = components.dropLast().joined(separator: ".")
            (layer, kind) = SensitivityReport.layerAndKind(ofModule: module)
            var total = Values(), maximum = Values()
            for score in SensitivityScore.allCases {
                total[score] = totals[score] ?? 0
                maximum[score] = maxima[score] ?? 0
            }
            self.total = total
            self.maximum = maximum
        }
    }

    /// Sums over a group of tensors (a module or a layer).
    public struct GroupScores: Codable, Sendable {
        public let name: String
        public let layer: Int?
        public let kind: String?
        public let parameterCount: Int
        public let total: Values
        /// `total` divided by the parameter count.
        public var mean: Values {
            var result = Values()
            for score in SensitivityScore.allCases { result[score] = total[score] / Double(Swift.max(parameterCount, 1)) }
            return result
        }
    }

    public let sampleCount: Int
    public let tensors: [TensorScores]
    public let modules: [GroupScores]
    public let layers: [GroupScores]

    public init(sampleCount: Int, tensors: [TensorScores]) {
        self.sampleCount = sampleCount
        self.tensors = tensors
        modules = Self.group(tensors, by: \.module).map { name, members in
            GroupScores(name: name, layer: members[0].layer, kind: members[0].kind,
                        parameterCount: members.reduce(0) { $0 + $1.parameterCount },
                        total: members.reduce(Values()) { $0 + $1.total })
        }
        layers = Self.group(tensors.filter { $0.layer != nil }, by: { "layer.\($0.layer!)" }).map { name, members in
            GroupScores(name: name, layer: members[0].layer, kind: nil,
                        parameterCount: members.reduce(0) { $0 + $1.parameterCount },
                        total: members.reduce(Values()) { $0 + $1.total })
        }
    }

    /// Modules, most sensitive first by the score's total (ties keep tree order).
    public func modules(rankedBy score: SensitivityScore) -> [GroupScores] {
        modules.enumerated().sorted { ($0.element.total[score], -$0.offset) > ($1.element.total[score], -$1.offset) }.map(\.element)
    }

    /// Layers, most sensitive first by the score's total.
    public func layers(rankedBy score: SensitivityScore) -> [GroupScores] {
        layers.enumerated().sorted { ($0.element.total[score], -$0.offset) > ($1.element.total[score], -$1.offset) }.map(\.element)
    }

    /// The report as pretty-printed JSON with sorted keys.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// Layer index and kind of a module path.
    static func layerAndKind(ofModule module: String) -> (layer: Int?, kind: String) {
        let components = module.split(separator: ".").map(String.init)
        for index in components.indices.dropLast() where ["layer", "layers", "h", "block", "blocks"].contains(components[index]) {
            if let number = Int(components[index + 1]), index + 2 < components.count {
                return (number, components[(index + 2)...].joined(separator: "."))
            }
        }
        return (nil, module)
    }

    private static func group(_ tensors: [TensorScores], by key: (TensorScores) -> String) -> [(String, [TensorScores])] {
        var order: [String] = []
        var members: [String: [TensorScores]] = [:]
        for tensor in tensors {
            let name = key(tensor)
            if members[name] == nil { order.append(name) }
            members[name, default: []].append(tensor)
        }
        return order.map { ($0, members[$0]!) }
    }
}
