/// The WordPiece model: greedy longest-match-first over a vocabulary, pieces after the first
/// carrying a continuation prefix (`##`). A word longer than `maxInputCharactersPerWord`
/// scalars, or one with a part no vocabulary entry matches, becomes the unknown token.
///
/// The vocabulary is held as a trie over Unicode scalars, so the longest match at a position is
/// one walk down the trie; a continuation match starts from the trie node of the prefix.
struct WordPiece: Sendable {
    let unknownID: Int
    let maxInputCharactersPerWord: Int
    private let trie: ScalarTrie
    private let continuationNode: Int32?

    init(vocabulary: [String: Int], unknownID: Int, continuationPrefix: String, maxInputCharactersPerWord: Int) {
        let trie = ScalarTrie(vocabulary)
        var node: Int32? = 0
        for scalar in continuationPrefix.unicodeScalars {
            node = node.flatMap { trie.child(of: $0, scalar: scalar.value) }
        }
        self.trie = trie
        continuationNode = node
        self.unknownID = unknownID
        self.maxInputCharactersPerWord = maxInputCharactersPerWord
    }

    /// Appends the pieces of `scalars[word]` to `pieces` as (id, range in the same indices).
    func tokenize(_ scalars: [UInt32], word: Range<Int>, into pieces: inout [(id: Int, range: Range<Int>)]) {
        let firstPiece = pieces.count
        if word.count > maxInputCharactersPerWord {
            pieces.append((unknownID, word))
            return
        }
        var start = word.lowerBound
        while start < word.upperBound {
            var match: (id: Int, end: Int)?
            if var node = start == word.lowerBound ? 0 : continuationNode {
                var position = start
                while position < word.upperBound, let next = trie.child(of: node, scalar: scalars[position]) {
                    node = next
                    position += 1
                    let id = trie.tokenIDs[Int(node)]
                    if id >= 0 { match = (Int(id), position) }
                }
            }
            guard let found = match else {
                pieces.removeLast(pieces.count - firstPiece)
                pieces.append((unknownID, word))
                return
            }
            pieces.append((found.id, start..<found.end))
            start = found.end
        }
    }
}

/// A trie over Unicode scalars, flattened: the children of node `n` are the edges
/// `edgeStarts[n]..<edgeStarts[n + 1]`, sorted by scalar.
struct ScalarTrie: Sendable {
    private(set) var tokenIDs: [Int32] = [-1]
    private var edgeStarts: [Int32] = []
    private var edgeScalars: [UInt32] = []
    private var edgeTargets: [Int32] = []

    init(_ vocabulary: [String: Int]) {
        var children: [[UInt32: Int32]] = [[:]]
        for (token, id) in vocabulary {
            var node = 0
            for scalar in token.unicodeScalars {
                if let next = children[node][scalar.value] {
                    node = Int(next)
                } else {
                    children.append([:])
                    tokenIDs.append(-1)
                    children[node][scalar.value] = Int32(children.count - 1)
                    node = children.count - 1
                }
            }
            tokenIDs[node] = Int32(id)
        }
        edgeStarts.reserveCapacity(children.count + 1)
        for edges in children {
            edgeStarts.append(Int32(edgeScalars.count))
            for (scalar, target) in edges.sorted(by: { $0.key < $1.key }) {
                edgeScalars.append(scalar)
                edgeTargets.append(target)
            }
        }
        edgeStarts.append(Int32(edgeScalars.count))
    }

    /// The child of `node` along `scalar`, found by binary search among its sorted edges.
    func child(of node: Int32, scalar: UInt32) -> Int32? {
        var low = Int(edgeStarts[Int(node)])
        var high = Int(edgeStarts[Int(node) + 1])
        while low < high {
            let middle = (low + high) / 2
            let value = edgeScalars[middle]
            if value == scalar { return edgeTargets[middle] }
            if value < scalar { low = middle + 1 } else { high = middle }
        }
        return nil
    }
}
