import Synchronization

/// The BPE model of a byte-level tokenizer: a word's bytes become alphabet tokens, then the
/// lowest-ranked adjacent pair is merged (the leftmost among equals) until no pair has a merge,
/// as Hugging Face's `BPE` model does. Results are cached per word. A class, so that copies of a
/// tokenizer share one vocabulary and cache.
final class BytePairModel: Sendable {
    let vocabulary: [String: Int]
    /// Vocabulary entries by id (nil where an id has no entry).
    let tokens: [String?]
    /// The id of each byte's alphabet token, or -1. // [256]
    private let byteIDs: [Int32]
    /// `left << 32 | right` -> `rank << 32 | merged id`.
    private let merges: [UInt64: UInt64]
    let ignoresMerges: Bool
    let byteFallback: Bool
    let unknownID: Int?
    let fusesUnknown: Bool
    private let cache = WordCache(capacity: 10_000)

    /// Fails with the first merge whose parts or result are not in `vocabulary`.
    init(vocabulary: [String: Int], merges: [(String, String)], ignoresMerges: Bool, byteFallback: Bool,
         unknownID: Int?, fusesUnknown: Bool) throws(MergeError) {
        self.vocabulary = vocabulary
        var tokens = [String?](repeating: nil, count: (vocabulary.values.max() ?? -1) + 1)
        for (token, id) in vocabulary { tokens[id] = token }
        self.tokens = tokens
        byteIDs = (0...255).map { byte in
            vocabulary[ByteLevelAlphabet.string(for: [UInt8(byte)])].map(Int32.init) ?? -1
        }
        var table: [UInt64: UInt64] = [:]
        table.reserveCapacity(merges.count)
        for (rank, (left, right)) in merges.enumerated() {
            guard let leftID = vocabulary[left], let rightID = vocabulary[right], let mergedID = vocabulary[left + right] else {
                throw MergeError(rank: rank, left: left, right: right)
            }
            let key = UInt64(leftID) << 32 | UInt64(rightID)
            if table[key] == nil { table[key] = UInt64(rank) << 32 | UInt64(mergedID) }
        }
        self.merges = table
        self.ignoresMerges = ignoresMerges
        self.byteFallback = byteFallback
        self.unknownID = unknownID
        self.fusesUnknown = fusesUnknown
    }

    struct MergeError: Error {
        let rank: Int
        let left: String
        let right: String
    }

    /// Appends the ids of the word with UTF-8 `bytes` to `ids`.
    func encode(word bytes: [UInt8], into ids: inout [Int]) {
        if let cached = cache.ids(for: bytes) {
            ids.append(contentsOf: cached)
            return
        }
        var symbols = initialSymbols(bytes)
        if ignoresMerges, let id = vocabulary[ByteLevelAlphabet.string(for: bytes)] {
            symbols = [id]
        } else {
            merge(&symbols)
        }
        cache.store(symbols, for: bytes)
        ids.append(contentsOf: symbols)
    }

    /// One alphabet token per byte; a byte missing from the vocabulary becomes `<0xXX>` tokens
    /// (byte fallback, of its alphabet scalar's UTF-8 as Hugging Face does), else the unknown token.
    private func initialSymbols(_ bytes: [UInt8]) -> [Int] {
        var symbols: [Int] = []
        symbols.reserveCapacity(bytes.count)
        var previousWasUnknown = false
        for byte in bytes {
            let id = byteIDs[Int(byte)]
            if id >= 0 {
                symbols.append(Int(id))
                previousWasUnknown = false
                continue
            }
            let character = ByteLevelAlphabet.string(for: [byte])
            if byteFallback {
                let fallback = character.utf8.map { vocabulary["<0x" + hex($0) + ">"] }
                if fallback.allSatisfy({ $0 != nil }) {
                    symbols.append(contentsOf: fallback.map { $0! })
                    previousWasUnknown = false
                    continue
                }
            }
            if let unknownID, !(fusesUnknown && previousWasUnknown) {
                symbols.append(unknownID)
                previousWasUnknown = true
            }
        }
        return symbols
    }

    private func merge(_ symbols: inout [Int]) {
        while symbols.count > 1 {
            var best = UInt64.max
            var bestIndex = -1
            for index in 0..<(symbols.count - 1) {
                let key = UInt64(symbols[index]) << 32 | UInt64(symbols[index + 1])
                if let value = merges[key], value < best {
                    best = value
                    bestIndex = index
                }
            }
            guard bestIndex >= 0 else { return }
            symbols[bestIndex] = Int(best & 0xFFFF_FFFF)
            symbols.remove(at: bestIndex + 1)
        }
    }

    private func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }
}

/// Word -> ids, shared by all copies of a tokenizer and safe to use from several threads. It
/// stops growing at `capacity` words, as Hugging Face's cache does.
private final class WordCache: Sendable {
    private let storage = Mutex<[[UInt8]: [Int]]>([:])
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
    }

    func ids(for word: [UInt8]) -> [Int]? {
        storage.withLock { $0[word] }
    }

    func store(_ ids: [Int], for word: [UInt8]) {
        storage.withLock { cache in
            if cache.count < capacity { cache[word] = ids }
        }
    }
}
