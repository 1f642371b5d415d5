import Formats
import Foundation
import NN
import TensorCore

/// Everything besides tensors that a resumed run needs to continue exactly.
public struct TrainerState: Codable, Sendable {
    /// Optimizer steps taken.
    public var step = 0
    public var position: Batcher.Position
    /// Dropout generators by module path.
    public var dropoutGenerators: [String: RandomGenerator] = [:]
    /// The optimizer's step count per parameter path.
    public var optimizerSteps: [String: Int] = [:]
    public var bestValue: Double?
    public var bestStep: Int?
    public var evaluationsWithoutImprovement = 0
    public var stoppedEarly = false
    public var isFinished = false
    public var trainingSeconds: Double = 0
    /// Step and evaluation records so far (for the report).
    public var history: [LogRecord] = []
}

/// A resumable checkpoint in one safetensors file, written atomically: the trainable
/// parameters (`parameter.<path>`), the optimizer's buffers (`optimizer.<path>.<buffer>`) and
/// the `TrainerState` as JSON in the metadata (`trainer_state`).
///
/// ```swift
/// try Checkpoint.write(model: model, optimizer: optimizer, state: state, to: url)
/// let state = try Checkpoint.restore(from: url, model: model, optimizer: optimizer)
/// ```
public enum Checkpoint {
    public static func write(model: Module, optimizer: Optimizer, state: TrainerState, to url: URL) throws {
        var tensors: [String: Tensor] = [:]
        var state = state
        for (path, tensor) in model.trainableParameters() { tensors["parameter." + path] = tensor }
        state.optimizerSteps = [:]
        for (path, parameterState) in optimizer.states {
            state.optimizerSteps[path] = parameterState.step
            for (name, buffer) in parameterState.buffers { tensors["optimizer.\(path).\(name)"] = buffer }
        }
        let json = String(decoding: try JSONEncoder().encode(state), as: UTF8.self)
        try SafetensorsWriter.write(tensors, metadata: ["trainer_state": json, "format": "swiftpeft-checkpoint"], to: url)
    }

    /// Loads parameters and optimizer state into `model` and `optimizer`; returns the trainer state.
    public static func restore(from url: URL, model: Module, optimizer: Optimizer) throws -> TrainerState {
        let file = try SafetensorsFile(url: url)
        guard let json = file.metadata["trainer_state"] else {
            throw CheckpointError.malformed(file: url.path, reason: "no trainer_state in the metadata")
        }
        let state = try JSONDecoder().decode(TrainerState.self, from: Data(json.utf8))
        var parameters: [String: Tensor] = [:]
        let trainable = Set(model.trainableParameters().map(\.path))
        for name in file.names where name.hasPrefix("parameter.") {
            let path = String(name.dropFirst("parameter.".count))
            guard trainable.contains(path) else {
                throw CheckpointError.malformed(file: url.path, reason: "parameter '\(path)' is not trainable in this model")
            }
            parameters[path] = try file.tensor(name).copied()
        }
        try model.load(stateDict: parameters, strict: false)
        var states: [String: Optimizer.ParameterState] = [:]
        for (path, step) in state.optimizerSteps {
            var buffers: [String: Tensor] = [:]
            let prefix = "optimizer.\(path)."
            for name in file.names where name.hasPrefix(prefix) {
                buffers[String(name.dropFirst(prefix.count))] = try file.tensor(name).copied()
            }
            states[path] = Optimizer.ParameterState(step: step, buffers: buffers)
        }
        optimizer.states = states
        return state
    }

    /// Writes the trainable parameters alone (the best weights so far).
    public static func writeWeights(of model: Module, to url: URL, metadata: [String: String] = [:]) throws {
        try SafetensorsWriter.write(Dictionary(uniqueKeysWithValues: model.trainableParameters().map { ($0.path, $0.tensor) }),
                                    metadata: metadata, to: url)
    }

    /// Loads weights written by `writeWeights` into `model`.
    public static func loadWeights(into model: Module, from url: URL) throws {
        let file = try SafetensorsFile(url: url)
        try model.load(stateDict: file.tensors().mapValues { $0.copied() }, strict: false)
    }
}

public enum CheckpointError: Error, CustomStringConvertible, Equatable {
    case malformed(file: String, reason: String)
    case missing(file: String)

    public var description: String {
        switch self {
        case let .malformed(file, reason): "\(file): not a usable checkpoint: \(reason)"
        case let .missing(file): "\(file): no checkpoint to resume from; run without --resume first"
        }
    }
}
