import NN
import TensorCore

/// Trains only the elements a `SparseMask` selects; every other element stays exactly at its
/// base value.
///
/// Masking the gradient alone is not enough: AdamW's decoupled weight decay (`p -= lr·wd·p`)
/// moves every element of a trainable tensor, and a moment left from an earlier gradient would
/// too. So each step (1) replaces every masked tensor's gradient by a copy that is zero outside
/// the mask, which keeps the optimizer's moments zero there, (2) runs the optimizer, and
/// (3) writes the base values back into the unselected elements. The base values are a copy of
/// each masked tensor taken at the start (one float per element; it also gives the sparse diff).
/// Optimizer state stays dense (AdamW keeps two floats per element of a masked tensor).
///
/// ```swift
/// let selective = SelectiveFineTuning(model: classifier, mask: mask)
/// let optimizer = AdamW(learningRate: 1e-4, weightDecay: 0.01)
/// for batch in batches {
///     crossEntropy(classifier(batch.tokens), targets: batch.labels).backward()
///     selective.step(with: optimizer)          // mask, update, restore
///     classifier.zeroGradients()
/// }
/// try selective.sparseDiff().write(to: url)
/// ```
public final class SelectiveFineTuning {
    public let model: Module
    public let mask: SparseMask
    /// The values of every masked tensor before training, by path.
    private var baseValues: [String: [Float]] = [:]

    /// Freezes `model` except the tensors with selected elements and remembers their values.
    public init(model: Module, mask: SparseMask) {
        self.model = model
        self.mask = mask
        model.freeze()
        for path in mask.selectedPaths {
            let tensor = model.parameterTensor(at: path)
            precondition(tensor.count == mask.elementCounts[path],
                         "SelectiveFineTuning: '\(path)' has \(tensor.count) elements, the mask expects \(mask.elementCounts[path] ?? 0)")
            baseValues[path] = tensor.toArray()
            tensor.requiringGradient(true)
        }
    }

    /// Selected elements (the trainable parameter count of this method).
    public var trainableCount: Int { mask.selectedCount }

    /// Replaces each masked tensor's gradient by one that is zero outside the mask. Call after
    /// `backward()` and before the optimizer (and before gradient clipping, so the norm counts
    /// only trained elements).
    public func maskGradients() {
        Tensor.withoutGradient {
            for path in mask.selectedPaths {
                let tensor = model.parameterTensor(at: path)
                guard let gradient = tensor.grad?.toArray() else { continue }
                var masked = [Float](repeating: 0, count: gradient.count)
                for index in mask.indices[path]! { masked[index] = gradient[index] }
                tensor.grad = Tensor(masked, shape: tensor.shape)
            }
        }
    }

    /// Writes the base values back into every unselected element (after the optimizer step).
    public func restoreUnselectedElements() {
        for path in mask.selectedPaths {
            let tensor = model.parameterTensor(at: path)
            // The optimizer makes every tensor it updates owned contiguous float32; one it has
            // not updated yet (still borrowed from a mapped file) holds its base values.
            guard tensor.storage.isOwned, tensor.isContiguous, tensor.dtype == .float32 else { continue }
            let values = tensor.storage.floats + tensor.offset
            let selected = mask.indices[path]!
            let trained = selected.map { values[$0] }
            baseValues[path]!.withUnsafeBufferPointer { base in values.update(from: base.baseAddress!, count: base.count) }
            for (index, value) in zip(selected, trained) { values[index] = value }
        }
    }

    /// One masked update: `maskGradients`, `optimizer.step(model)`, `restoreUnselectedElements`.
    public func step(with optimizer: Optimizer) {
        maskGradients()
        optimizer.step(model)
        restoreUnselectedElements()
    }

    /// The trained changes: per masked tensor, the selected indices and trained − base deltas.
    public func sparseDiff(metadata: [String: String] = [:]) -> SparseDiff {
        var entries: [String: SparseDiff.Entry] = [:]
        for path in mask.selectedPaths {
            let tensor = model.parameterTensor(at: path)
            entries[path] = SparseDiff.Entry(shape: tensor.shape, indices: mask.indices[path]!,
                                             base: baseValues[path]!, trained: tensor.toArray())
        }
        return SparseDiff(entries: entries, metadata: metadata)
    }
}
