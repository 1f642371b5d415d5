import Foundation
import Testing
import TestSupport
@testable import Training

/// A scratch folder per test, removed by the caller's `defer`.
func makeScratchFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("training-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func writeFile(_ folder: URL, _ name: String, _ text: String) throws -> URL {
    let url = folder.appendingPathComponent(name)
    try Data(text.utf8).write(to: url)
    return url
}

@Suite struct DataTests {
    @Test func readsJSONLinesCSVAndTSVAlike() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let jsonl = try writeFile(folder, "a.jsonl", "{\"text\": \"good\", \"label\": \"pos\"}\n\n{\"text\": \"bad\", \"label\": \"neg\"}\n")
        let csv = try writeFile(folder, "a.csv", "label,text\npos,good\nneg,\"bad, \"\"really\"\"\"\n")
        let tsv = try writeFile(folder, "a.tsv", "text\tlabel\ngood\tpos\r\nbad\tneg\n")
        let fromJSON = try TextClassificationData.load(from: jsonl)
        #expect(fromJSON.labelNames == ["neg", "pos"])
        #expect(fromJSON.examples == [LabeledText(text: "good", label: 1), LabeledText(text: "bad", label: 0)])
        #expect(try TextClassificationData.load(from: csv).examples.last == LabeledText(text: "bad, \"really\"", label: 0))
        #expect(try TextClassificationData.load(from: tsv).examples == fromJSON.examples)
    }

    @Test func numericLabelsKeepTheirIDsAndColumnsAreChosen() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = try writeFile(folder, "b.jsonl", "{\"s\": \"x\", \"y\": 10}\n{\"s\": \"y\", \"y\": 2}\n{\"s\": \"z\", \"y\": 0}\n")
        let data = try TextClassificationData.load(from: url, textColumn: "s", labelColumn: "y")
        #expect(data.labelNames == ["0", "2", "10"])
        #expect(data.examples.map(\.label) == [2, 1, 0])
    }

    @Test func errorsNameTheFileLineAndExpectation() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = folder.appendingPathComponent("nope.jsonl")
        #expect(throws: DataError.missingFile(file: missing.path)) { try TextClassificationData.load(from: missing) }

        let csv = try writeFile(folder, "c.csv", "text,label\nfine,pos\n")
        #expect(throws: DataError.unknownColumn(file: csv.path, column: "sentence", available: ["text", "label"])) {
            try TextClassificationData.load(from: csv, textColumn: "sentence")
        }
        let jsonl = try writeFile(folder, "c.jsonl", "{\"text\": \"a\", \"label\": \"pos\"}\n")
        #expect(throws: DataError.unknownColumn(file: jsonl.path, column: "y", available: ["label", "text"])) {
            try TextClassificationData.load(from: jsonl, labelColumn: "y")
        }

        let empty = try writeFile(folder, "empty.csv", "text,label\n")
        #expect(throws: DataError.emptyDataset(file: empty.path)) { try TextClassificationData.load(from: empty) }

        let validation = try writeFile(folder, "v.jsonl", "{\"text\": \"a\", \"label\": \"pos\"}\n{\"text\": \"b\", \"label\": \"meh\"}\n")
        #expect(throws: DataError.unknownLabel(file: validation.path, line: 2, label: "meh", known: ["neg", "pos"])) {
            try TextClassificationData.load(from: validation, labelNames: ["neg", "pos"])
        }

        let invalid = folder.appendingPathComponent("bad.jsonl")
        try Data("{\"text\": \"ok\", \"label\": 1}\n{\"text\": \"\u{0}".utf8 + [0xFF, 0xFE] + Array("\", \"label\": 0}\n".utf8)).write(to: invalid)
        #expect(throws: DataError.invalidUTF8(file: invalid.path, line: 2)) { try TextClassificationData.load(from: invalid) }

        let broken = try writeFile(folder, "broken.jsonl", "{\"text\": \"ok\", \"label\": 1}\n{\"text\": \n")
        #expect(throws: DataError.malformedLine(file: broken.path, line: 2, reason: "expected one JSON object per line")) {
            try TextClassificationData.load(from: broken)
        }
        let gap = try writeFile(folder, "gap.jsonl", "{\"text\": \"ok\", \"label\": 1}\n{\"text\": \"no label\"}\n")
        #expect(throws: DataError.missingValue(file: gap.path, line: 2, column: "label")) { try TextClassificationData.load(from: gap) }

        let other = try writeFile(folder, "data.parquet", "")
        #expect(throws: DataError.unsupportedFormat(file: other.path)) { try TextClassificationData.load(from: other) }
    }

    @Test func errorMessagesAreOneLine() {
        let message = DataError.unknownLabel(file: "v.csv", line: 7, label: "meh", known: ["neg", "pos"]).description
        #expect(message == "v.csv:7: label 'meh' is not in the label set [neg, pos]")
        #expect(!message.contains("\n"))
    }

    @Test func rottenTomatoesSplitsByHashAndDropsPlotAndDuplicates() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let texts = (0..<60).map { "snippet number \($0)" }
        var csv = "category,text,movie_name,has_plot_and_reviews\n"
        for (index, text) in texts.enumerated() { csv += "\(index % 2 == 0 ? "fresh" : "rotten"),\(text),m,False\n" }
        csv += "plot,a plot summary,m,True\nrotten,snippet number 0,m,False\n"
        let split = try RottenTomatoes.load(from: try writeFile(folder, "rt.csv", csv))
        #expect(split.count == 60)
        for example in split.test.examples { #expect(SHA256.hash(Array(example.text.utf8))[0] % 10 == 0) }
        for example in split.validation.examples { #expect(SHA256.hash(Array(example.text.utf8))[0] % 10 == 1) }
        #expect(split.train.examples.count == texts.filter { SHA256.hash(Array($0.utf8))[0] % 10 > 1 }.count)
        #expect(split.train.examples.allSatisfy { $0.label == (Int($0.text.split(separator: " ").last!)! % 2 == 0 ? 1 : 0) })
        #expect(!split.train.examples.contains { $0.text == "a plot summary" })
    }

    @Test func realRottenTomatoesHas12752Rows() throws {
        guard let url = try assetURL("rotten_tomatoes_corpus_full.csv") else { return }
        let split = try RottenTomatoes.load(from: url)
        #expect(split.count == 12_752)
        // The same counts as scripts/reference/peft_train.py prints.
        let counts: [Int] = [split.train.examples.count, split.validation.examples.count, split.test.examples.count]
        #expect(counts == [10_139, 1_329, 1_284])
    }
}

@Suite struct LanguageModelingTextTests {
    @Test func cutsTheTokenStreamIntoShiftedBlocks() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = try writeFile(folder, "play.txt", "a b c\n\nd e f g\nh\n")
        let text = try LanguageModelingText.load(from: url, blockLength: 3) { line in line.split(separator: " ").map { Int($0.unicodeScalars.first!.value) - 96 } }
        #expect(text.tokenCount == 8)
        #expect(text.blocks == [[1, 2, 3, 4], [5, 6, 7, 8]])
        #expect(Array(text.example(1).inputs) == [5, 6, 7] && Array(text.example(1).targets) == [6, 7, 8])
    }

    @Test func tooLittleTextAndInvalidUTF8AreErrors() throws {
        let folder = try makeScratchFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let short = try writeFile(folder, "short.txt", "a b\n")
        #expect(throws: DataError.emptyDataset(file: short.path)) {
            try LanguageModelingText.load(from: short, blockLength: 8) { $0.split(separator: " ").map { _ in 1 } }
        }
        let invalid = folder.appendingPathComponent("bad.txt")
        try Data([0x61, 0x0A, 0x62, 0xC3, 0x28, 0x0A]).write(to: invalid)
        #expect(throws: DataError.invalidUTF8(file: invalid.path, line: 2)) {
            try LanguageModelingText.load(from: invalid, blockLength: 1) { _ in [1] }
        }
    }
}

@Suite struct ProgressTests {
    @Test func barAndLineShowStepEpochLossRateAndETA() {
        let snapshot = ProgressSnapshot(step: 50, totalSteps: 200, epoch: 0, epochs: 2, loss: 0.5123, stepsPerSecond: 2,
                                        tokensPerSecond: 1500, elapsedSeconds: 25)
        #expect(snapshot.etaSeconds == 75)
        let bar = ConsoleProgress.bar(snapshot)
        #expect(bar.contains("step 50/200") && bar.contains("epoch 1/2") && bar.contains("loss 0.5123") && bar.contains("ETA 1:15"))
        #expect(ConsoleProgress.line(snapshot) == "step 50/200 epoch 1/2 loss 0.5123 2.00 steps/s 1500 tokens/s elapsed 0:25 eta 1:15")
        #expect(formatDuration(3725) == "1:02:05")
    }

    @Test func peakMemoryIsReported() {
        #expect((MemoryProbe.peakResidentBytes() ?? 0) > 1_000_000)
    }
}
