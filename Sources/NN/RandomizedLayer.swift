import TensorCore

/// A layer that draws random numbers while training (dropout masks). Its generator is part of
/// a run's state: trainers seed it from the run's seed and save it in checkpoints, so a resumed
/// run draws exactly what an uninterrupted one would.
public protocol RandomizedLayer: Module {
    var generator: RandomGenerator { get set }
}

extension Dropout: RandomizedLayer {}
