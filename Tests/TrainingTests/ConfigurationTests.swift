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
        let scope = try writeFile(folder, "s.json", "{\"mask_scope\": \"tensor\"}")
        #expect(throws: ConfigurationError.self) { try TrainingConfiguration.load(from: scope) }
        let perTensor = try writeFile(folder, "p.json", "{\"mask_scope\": \"per-tensor\"}")
        #expect(try TrainingConfiguration.load(from: perTensor).maskScope == .perTensor)
        let taylor = try writeFile(folder, "t.json", "{\"mask_score\": \"taylor\"}")
        #expect(try TrainingConfiguration.load(from: taylor).maskScore == .taylor)
        let score = try writeFile(folder, "g.json", "{\"mask_score\": \"gradient\"}")
        #expect(throws: ConfigurationError.self) { try TrainingConfiguration.load(from: score) }
        let movement = try writeFile(folder, "mv.json", "{\"mask_score\": \"movement\", \"movement_steps\": 5, \"movement_learning_rate\": 1e-4}")
        let loaded = try TrainingConfiguration.load(from: movement)
        #expect(loaded.maskScore == .movement && loaded.movementSteps == 5 && loaded.movementLearningRate == 1e-4)
        var noSteps = TrainingConfiguration()
        noSteps.movementSteps = 0
        #expect(throws: ConfigurationError.outOfRange(key: "movement_steps", value: "0", expected: "an integer in [1, 100000]")) {
            try noSteps.validate()
        }
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

    @Test func methodOptionsLoadAndAreChecked() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let yaml = try writeFile(folder, "run.yaml", """
            method: planned-lora
            budget_params: 5000
            analysis_batches: 4
            density: 0.01
            num_virtual_tokens: 10
            reduction_factor: 8
            """)
        let loaded = try TrainingConfiguration.load(from: yaml)
        #expect(loaded.method == .plannedLoRA && loaded.budgetParams == 5000 && loaded.analysisBatches == 4)
        #expect(loaded.density == 0.01 && loaded.numVirtualTokens == 10 && loaded.reductionFactor == 8)
        #expect(TrainingConfiguration().budgetParams == nil)
        for method in TrainingConfiguration.Method.allCases {
            #expect(try JSONDecoder().decode(TrainingConfiguration.self, from: Data("{\"method\": \"\(method.rawValue)\"}".utf8)).method == method)
        }
        func error(_ change: (inout TrainingConfiguration) -> Void) -> ConfigurationError? {
            var configuration = TrainingConfiguration()
            change(&configuration)
            do { try configuration.validate() } catch let error as ConfigurationError { return error } catch { return nil }
            return nil
        }
        #expect(error { $0.density = 0 } == .outOfRange(key: "density", value: "0.0", expected: "a number in (0, 1]"))
        #expect(error { $0.density = 1.5 } == .outOfRange(key: "density", value: "1.5", expected: "a number in (0, 1]"))
        #expect(error { $0.numVirtualTokens = 0 } == .outOfRange(key: "num_virtual_tokens", value: "0", expected: "an integer in [1, 1024]"))
        #expect(error { $0.reductionFactor = 0.5 }
            == .outOfRange(key: "reduction_factor", value: "0.5", expected: "a number >= 1 (hidden size / bottleneck size)"))
        #expect(error { $0.analysisBatches = 0 } == .outOfRange(key: "analysis_batches", value: "0", expected: "an integer in [1, 10000]"))
        #expect(error { $0.budgetParams = 0 } == .outOfRange(key: "budget_params", value: "0", expected: "an integer >= 1"))
        #expect(error { $0.density = 0 }?.description == "--density 0.0 is out of range; expected a number in (0, 1]")
        #expect(error { $0.method = .selective; $0.budgetParams = 10 } == nil)
    }
}
