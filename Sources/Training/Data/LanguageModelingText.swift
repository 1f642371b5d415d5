import Foundation

/// Plain text for language modelling: the file's tokens cut into blocks of `blockLength`
/// for next-token prediction (inputs are a block, targets the same block shifted by one).
/// The tokeniser is a function, so any tokeniser (WordPiece, byte-level BPE) fits.
///
/// ```swift
/// let text = try LanguageModelingText.load(from: url, blockLength: 128) { tokenizer.encode($0).ids }
/// text.blocks.count   // tokens / 129, rounded down
/// ```
public struct LanguageModelingText: Sendable {
    /// Each block holds `blockLength + 1` tokens: inputs `block[0..<n]`, targets `block[1...n]`.
    public var blocks: [[Int]]
    public var tokenCount: Int

    /// Reads a UTF-8 text file (an invalid line is an error naming it), tokenises it line by
    /// line with `tokenize` and cuts the stream into blocks; the last partial block is dropped.
    public static func load(from url: URL, blockLength: Int, tokenize: (String) -> [Int]) throws -> LanguageModelingText {
        precondition(blockLength >= 1, "LanguageModelingText: block length \(blockLength) must be positive")
        let lines = try readLines(of: url)
        var stream: [Int] = []
        for line in lines { stream += tokenize(line.text) }
        guard stream.count > blockLength else { throw DataError.emptyDataset(file: url.path) }
        let blocks = stride(from: 0, to: stream.count - blockLength, by: blockLength + 1).compactMap { start -> [Int]? in
            start + blockLength + 1 <= stream.count ? Array(stream[start..<(start + blockLength + 1)]) : nil
        }
        guard !blocks.isEmpty else { throw DataError.emptyDataset(file: url.path) }
        return LanguageModelingText(blocks: blocks, tokenCount: stream.count)
    }

    /// Inputs and targets of block `index`.
    public func example(_ index: Int) -> (inputs: ArraySlice<Int>, targets: ArraySlice<Int>) {
        (blocks[index].dropLast(), blocks[index].dropFirst())
    }
}
