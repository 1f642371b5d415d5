import Foundation
import Testing
@testable import Training

@Suite struct ConfigurationTests {
    @Test func yamlAndJSONCarryTheSameSettings() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let yaml = try writeFile(folder, "run.yaml", """
            # LoRA on sentiment
            method: lora
            learning_rate: 1e-3
            epochs: 2
            target_modules:
              - query
              - value
            schedule: "cosine"   # decay
            seed: 7
            """)
        let json = try writeFile(folder, "run.json", """
            {"method": "lora", "learning_rate": 0.001, "epochs": 2, "target_modules": ["query", "value"],
             "schedule": "cosine", "seed": 7}
            """)
        let fromYAML = try TrainingConfiguration.load(from: yaml)
        #expect(fromYAML == (try TrainingConfiguration.load(from: json)))
        #expect(fromYAML.learningRate == 1e-3 && fromYAML.epochs == 2 && fromYAML.schedule == "cosine" && fromYAML.seed == 7)
        #expect(fromYAML.batchSize == TrainingConfiguration().batchSize)
        #expect(try FlatYAML.parse("target_modules: [query, key]\n", file: "x")["target_modules"] as? [String] == ["query", "key"])
    }

    @Test func unknownKeyIsAnErrorNamingIt() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = try writeFile(folder, "run.yaml", "epochs: 2\nlearning_rat: 0.1\n")
        #expect {
            try TrainingConfiguration.load(from: url)
        } throws: { error in
            "\(error)".hasPrefix("\(url.path): unknown key 'learning_rat'")
        }
    }

    @Test func wrongTypesAndNestingAreErrors() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let typed = try writeFile(folder, "run.json", "{\"epochs\": \"three\"}")
        #expect(throws: ConfigurationError.invalidValue(file: typed.path, key: "epochs", expected: "a value of type Int")) {
            try TrainingConfiguration.load(from: typed)
        }
        let nested = try writeFile(folder, "run.yaml", "lora:\n  rank: 8\n")
        #expect(throws: ConfigurationError.malformed(file: nested.path, line: 2, reason: "nested settings are not supported; expected 'key: value'")) {
            try TrainingConfiguration.load(from: nested)
        }
        let method = try writeFile(folder, "m.json", "{\"method\": \"dora\"}")
        #expect(throws: ConfigurationError.self) { try TrainingConfiguration.load(from: method) }
    }

    @Test func outOfRangeValuesNameTheOption() {
        var configuration = TrainingConfiguration()
        configuration.learningRate = -1
        #expect(throws: ConfigurationError.outOfRange(key: "learning_rate", value: "-1.0", expected: "a number in (0, 1]")) {
            try configuration.validate()
        }
        #expect(ConfigurationError.outOfRange(key: "learning_rate", value: "-1.0", expected: "a number in (0, 1]").description
            == "--learning-rate -1.0 is out of range; expected a number in (0, 1]")
        configuration = TrainingConfiguration()
        configuration.dropout = 1
        #expect(throws: ConfigurationError.self) { try configuration.validate() }
        configuration = TrainingConfiguration()
        configuration.schedule = "step"
        #expect(throws: ConfigurationError.self) { try configuration.validate() }
        #expect(throws: Never.self) { try TrainingConfiguration().validate() }
    }
}
