/// Runs the subset of the pickle protocol (up to 5) that `torch.save` emits, building values
/// instead of objects: a tensor becomes a `TensorReference`, a storage a `StorageReference`,
/// an `OrderedDict` a plain dict. Globals outside `PickleGlobal`'s allow-list are refused and
/// nothing is ever imported or called. Every read is bounds-checked; every malformed input
/// throws a `PyTorchError`.
///
/// ```swift
/// var machine = PickleMachine(bytes: base, range: entry.byteRange, file: path)
/// let root = try machine.run() // .dict(0)
/// ```
struct PickleMachine {
    private let bytes: UnsafeRawPointer
    private let end: Int
    private let file: String
    private let start: Int
    /// The offset of the next opcode; after `run()`, the first byte past STOP.
    private(set) var position: Int

    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    private(set) var tuples: [[PickleValue]] = []
    private(set) var lists: [[PickleValue]] = []
    private(set) var dicts: [PickleDict] = []
    private(set) var storages: [StorageReference] = []
    private(set) var tensors: [TensorReference] = []
    private var storageIndex: [String: Int] = [:]

    init(bytes: UnsafeRawPointer, range: Range<Int>, file: String) {
        self.bytes = bytes
        self.end = range.upperBound
        self.file = file
        self.start = range.lowerBound
        self.position = range.lowerBound
    }

    // MARK: - Reading the stream

    private mutating func take(_ count: Int, _ what: String) throws -> UnsafeRawBufferPointer {
        guard count >= 0, count <= end - position else { throw PyTorchError.truncated(file: file, reading: "pickle \(what)") }
        defer { position += count }
        return UnsafeRawBufferPointer(start: bytes + position, count: count)
    }

    private mutating func read<Value: FixedWidthInteger>(_: Value.Type, _ what: String) throws -> Value {
        Value(littleEndian: try take(MemoryLayout<Value>.size, what).loadUnaligned(as: Value.self))
    }

    private mutating func length<Value: FixedWidthInteger>(_: Value.Type, _ what: String) throws -> Int {
        let value = try read(Value.self, what)
        guard let length = Int(exactly: value), length >= 0 else { throw malformed("negative length for \(what)") }
        return length
    }

    private mutating func line(_ what: String) throws -> String {
        var length = 0
        while true {
            guard position + length < end else { throw PyTorchError.truncated(file: file, reading: "pickle \(what)") }
            if bytes.load(fromByteOffset: position + length, as: UInt8.self) == 0x0A { break }
            length += 1
        }
        let text = String(decoding: try take(length, what), as: UTF8.self)
        position += 1
        return text
    }

    private func malformed(_ reason: String) -> PyTorchError {
        .malformedPickle(file: file, reason: reason)
    }

    // MARK: - The stack

    private mutating func pop() throws -> PickleValue {
        guard let value = stack.popLast(), stack.count >= (marks.last ?? 0) else { throw malformed("stack underflow") }
        return value
    }

    private func top() throws -> PickleValue {
        guard let value = stack.last, stack.count > (marks.last ?? 0) else { throw malformed("stack underflow") }
        return value
    }

    private mutating func popToMark() throws -> [PickleValue] {
        guard let mark = marks.popLast() else { throw malformed("no MARK on the stack") }
        // Moved one value at a time: copying `stack[mark...]` and then removing that range lost
        // track of a string's reference count in release builds (Swift 6.3), leaking it or, a
        // few thousand corrupted files later, crashing (found by PyTorchMalformedTests under
        // AddressSanitizer).
        var items: [PickleValue] = []
        items.reserveCapacity(stack.count - mark)
        while stack.count > mark { items.append(stack.removeLast()) }
        return items.reversed()
    }

    private mutating func pushTuple(_ items: [PickleValue]) {
        tuples.append(items)
        stack.append(.tuple(tuples.count - 1))
    }

    /// The elements of `value` if it is a tuple.
    func tupleItems(_ value: PickleValue) -> [PickleValue]? {
        if case let .tuple(index) = value { tuples[index] } else { nil }
    }

    func dict(_ value: PickleValue) -> PickleDict? {
        if case let .dict(index) = value { dicts[index] } else { nil }
    }

    func list(_ value: PickleValue) -> [PickleValue]? {
        if case let .list(index) = value { lists[index] } else { nil }
    }

    // MARK: - Running

    /// Runs opcodes until STOP and returns the value it leaves.
    mutating func run() throws -> PickleValue {
        while true {
            let offset = position
            let opcode = try read(UInt8.self, "opcode")
            switch opcode {
            case 0x80: _ = try read(UInt8.self, "protocol")                       // PROTO
            case 0x95: _ = try read(UInt64.self, "frame length")                  // FRAME
            case 0x2E: // STOP
                let value = try pop()
                guard stack.isEmpty, marks.isEmpty else { throw malformed("values left on the stack at STOP") }
                return value
            case 0x28: marks.append(stack.count)                                  // MARK
            case 0x30: _ = try pop()                                              // POP
            case 0x31: _ = try popToMark()                                        // POP_MARK
            case 0x4E: stack.append(.none)                                        // NONE
            case 0x88: stack.append(.bool(true))                                  // NEWTRUE
            case 0x89: stack.append(.bool(false))                                 // NEWFALSE
            case 0x4A: stack.append(.int(Int(try read(Int32.self, "BININT"))))     // BININT
            case 0x4B: stack.append(.int(Int(try read(UInt8.self, "BININT1"))))    // BININT1
            case 0x4D: stack.append(.int(Int(try read(UInt16.self, "BININT2"))))   // BININT2
            case 0x8A: try pushLong(length: Int(try read(UInt8.self, "LONG1")))    // LONG1
            case 0x8B: try pushLong(length: try length(Int32.self, "LONG4"))       // LONG4
            case 0x47: // BINFLOAT, big-endian
                stack.append(.float(Double(bitPattern: UInt64(bigEndian: try take(8, "BINFLOAT").loadUnaligned(as: UInt64.self)))))
            case 0x58: try pushString(try length(UInt32.self, "BINUNICODE"))       // BINUNICODE
            case 0x8C: try pushString(Int(try read(UInt8.self, "SHORT_BINUNICODE")))
            case 0x8D: try pushString(try length(UInt64.self, "BINUNICODE8"))
            case 0x54: try pushString(try length(Int32.self, "BINSTRING"))         // BINSTRING
            case 0x55: try pushString(Int(try read(UInt8.self, "SHORT_BINSTRING")))
            case 0x42: stack.append(.bytes(count: try take(try length(UInt32.self, "BINBYTES"), "BINBYTES").count))
            case 0x43: stack.append(.bytes(count: try take(Int(try read(UInt8.self, "SHORT_BINBYTES")), "SHORT_BINBYTES").count))
            case 0x8E: stack.append(.bytes(count: try take(try length(UInt64.self, "BINBYTES8"), "BINBYTES8").count))
            case 0x29: pushTuple([])                                              // EMPTY_TUPLE
            case 0x74: pushTuple(try popToMark())                                 // TUPLE
            case 0x85, 0x86, 0x87:                                                // TUPLE1/2/3
                var items: [PickleValue] = []
                for _ in 0..<Int(opcode - 0x84) { items.insert(try pop(), at: 0) }
                pushTuple(items)
            case 0x5D: lists.append([]); stack.append(.list(lists.count - 1))     // EMPTY_LIST
            case 0x7D: dicts.append(PickleDict()); stack.append(.dict(dicts.count - 1)) // EMPTY_DICT
            case 0x61: try append([try pop()])                                    // APPEND
            case 0x65: try append(try popToMark())                                // APPENDS
            case 0x73: // SETITEM
                let value = try pop(), key = try pop()
                try setItems([key, value])
            case 0x75: try setItems(try popToMark())                              // SETITEMS
            case 0x71: try memoize(Int(try read(UInt8.self, "BINPUT")))           // BINPUT
            case 0x72: try memoize(Int(try read(UInt32.self, "LONG_BINPUT")))     // LONG_BINPUT
            case 0x94: try memoize(memo.count)                                    // MEMOIZE
            case 0x68: try recall(Int(try read(UInt8.self, "BINGET")))            // BINGET
            case 0x6A: try recall(Int(try read(UInt32.self, "LONG_BINGET")))      // LONG_BINGET
            case 0x63: // GLOBAL
                let module = try line("GLOBAL module"), name = try line("GLOBAL name")
                stack.append(.global(try global(module: module, name: name)))
            case 0x93: // STACK_GLOBAL
                let name = try pop(), module = try pop()
                guard case let .string(nameText) = name, case let .string(moduleText) = module else {
                    throw malformed("STACK_GLOBAL needs two strings")
                }
                stack.append(.global(try global(module: moduleText, name: nameText)))
            case 0x52: // REDUCE
                let arguments = try pop(), callable = try pop()
                stack.append(try call(callable, arguments))
            case 0x81: // NEWOBJ
                let arguments = try pop(), type = try pop()
                guard type == .global(.orderedDict), tupleItems(arguments) != nil else {
                    throw malformed("NEWOBJ of \(type.kind) is not supported")
                }
                dicts.append(PickleDict())
                stack.append(.dict(dicts.count - 1))
            case 0x62: // BUILD: the state (an OrderedDict's attributes, such as `_metadata`) is dropped.
                _ = try pop()
                _ = try top()
            case 0x51: // BINPERSID
                stack.append(try persistentLoad(try pop()))
            default:
                throw PyTorchError.unknownOpcode(file: file, opcode: opcode, offset: offset - start)
            }
        }
    }

    private mutating func pushLong(length: Int) throws {
        let raw = try take(length, "LONG")
        guard length <= 8 else { return stack.append(.bigInteger(Array(raw))) }
        var value: UInt64 = 0
        for (index, byte) in raw.enumerated() { value |= UInt64(byte) << (8 * UInt64(index)) }
        if length > 0, length < 8, raw[length - 1] & 0x80 != 0 { value |= ~0 << (8 * UInt64(length)) }
        stack.append(.int(Int(Int64(bitPattern: value))))
    }

    private mutating func pushString(_ length: Int) throws {
        stack.append(.string(String(decoding: try take(length, "string"), as: UTF8.self)))
    }

    private mutating func memoize(_ index: Int) throws {
        memo[index] = try top()
    }

    private mutating func recall(_ index: Int) throws {
        guard let value = memo[index] else { throw malformed("memo index \(index) was never stored") }
        stack.append(value)
    }

    private mutating func append(_ items: [PickleValue]) throws {
        guard case let .list(index) = try top() else { throw malformed("APPEND to \(try top().kind)") }
        lists[index].append(contentsOf: items)
    }

    private mutating func setItems(_ items: [PickleValue]) throws {
        guard case let .dict(index) = try top() else { throw malformed("SETITEM on \(try top().kind)") }
        guard items.count % 2 == 0 else { throw malformed("SETITEMS with an odd number of values") }
        for pair in stride(from: 0, to: items.count, by: 2) { dicts[index].set(items[pair], items[pair + 1]) }
    }

    private func global(module: String, name: String) throws -> PickleGlobal {
        guard let global = PickleGlobal(module: module, name: name) else {
            throw PyTorchError.disallowedGlobal(file: file, name: "\(module).\(name)")
        }
        return global
    }

    /// REDUCE: the allowed callables, interpreted rather than called.
    private mutating func call(_ callable: PickleValue, _ arguments: PickleValue) throws -> PickleValue {
        guard let items = tupleItems(arguments) else { throw malformed("REDUCE arguments are \(arguments.kind), not a tuple") }
        switch callable {
        case .global(.orderedDict):
            var dict = PickleDict()
            if let pairs = items.first.flatMap(list) {
                for pair in pairs {
                    guard let keyValue = tupleItems(pair), keyValue.count == 2 else { throw malformed("OrderedDict of non-pairs") }
                    dict.set(keyValue[0], keyValue[1])
                }
            }
            dicts.append(dict)
            return .dict(dicts.count - 1)
        case .global(.rebuildTensor):
            guard items.count >= 4, case let .storage(storage) = items[0], case let .int(offset) = items[1],
                  let shape = integers(items[2]), let strides = integers(items[3]) else {
                throw malformed("_rebuild_tensor_v2 needs (storage, offset, size, stride, ...)")
            }
            tensors.append(TensorReference(storage: storage, offset: offset, shape: shape, strides: strides))
            return .tensor(tensors.count - 1)
        case .global(.rebuildParameter), .global(.rebuildParameterWithState):
            guard let tensor = items.first, case .tensor = tensor else { throw malformed("_rebuild_parameter of a non-tensor") }
            return tensor
        default:
            throw malformed("cannot call \(callable.kind)")
        }
    }

    private func integers(_ value: PickleValue) -> [Int]? {
        guard let items = tupleItems(value) else { return nil }
        var result: [Int] = []
        for item in items {
            guard case let .int(number) = item else { return nil }
            result.append(number)
        }
        return result
    }

    /// BINPERSID: `('storage', <storage class>, key, location, element count[, view])`.
    private mutating func persistentLoad(_ id: PickleValue) throws -> PickleValue {
        guard let items = tupleItems(id), items.count >= 5, items[0] == .string("storage"),
              case let .global(.storageClass(type)) = items[1], case let .string(key) = items[2],
              case let .int(count) = items[4], count >= 0 else {
            throw malformed("persistent id is not ('storage', <storage class>, key, location, size)")
        }
        guard items.count == 5 || items[5] == .none else { throw malformed("storage views (legacy view metadata) are not supported") }
        if let index = storageIndex[key] {
            guard storages[index].type == type, storages[index].count == count else {
                throw malformed("storage '\(key)' is declared twice with different types or sizes")
            }
            return .storage(index)
        }
        storages.append(StorageReference(type: type, key: key, count: count))
        storageIndex[key] = storages.count - 1
        return .storage(storages.count - 1)
    }
}
