import NN
import TensorCore

/// Scores elements by how far a short full fine-tuning moves them, |θ_after − θ_before|: the
/// selection of lottery-ticket sparse fine-tuning (Ansell et al., 2022). Unlike the gradient
/// scores of `SensitivityAnalysis`, the optimizer's normalisation makes it independent of each
/// tensor's gradient scale (AdamW moves an element about the learning rate per step when its
/// gradient keeps its sign), so a layer next to a new head does not take the whole budget.
///
/// The probe trains every parameter in evaluation mode (no dropout: the scores depend only on
/// the data, so a resumed run chooses the same mask), then puts the model back exactly as it
/// was: values, trainability, gradients and mode.
///
/// ```swift
/// let scores = MovementScores.measure(model: classifier, matching: #"bert\..*"#, steps: 60,
///                                     optimizer: AdamW(learningRate: 2e-4, weightDecay: 0)) { step in
///     crossEntropy(logits: classifier(batches[step].tokens), targets: batches[step].labels)
/// }
/// let mask = SparseMask(topFraction: 0.005, of: scores)
/// ```
public enum MovementScores {
    /// Runs `steps` updates of `optimizer` on `loss(step)` with every parameter of `model`
    /// trainable (gradients clipped to a global norm of `maxGradientNorm` when it is positive),
    /// and returns each moved element's distance for the parameters whose path fully matches
    /// `pattern` (all when nil).
    public static func measure(model: Module, matching pattern: String? = nil, steps: Int, optimizer: Optimizer,
                               maxGradientNorm: Float = 0, loss: (Int) -> Tensor) -> [String: Tensor] {
        let scored = Set(model.parameterPaths(matching: pattern))
        // Before the probe: each parameter's tensor (the optimizer replaces borrowed or
        // non-contiguous ones and updates owned float32 ones in place, so those are copied).
        var originals: [String: (tensor: Tensor, trainable: Bool)] = [:]
        for (path, tensor) in model.namedParameters() {
            let updatedInPlace = tensor.storage.isOwned && tensor.isContiguous && tensor.dtype == .float32
            originals[path] = (updatedInPlace ? tensor.copied().detached() : tensor, tensor.requiresGradient)
        }
        let wasTraining = model.isTraining
        model.unfreeze()
        model.setTraining(false)
        model.zeroGradients()
        for step in 0..<steps {
            loss(step).backward()
            if maxGradientNorm > 0 { model.clipGradientNorm(maxNorm: maxGradientNorm) }
            optimizer.step(model)
            model.zeroGradients()
        }
        var scores: [String: Tensor] = [:]
        Tensor.withoutGradient {
            for (path, tensor) in model.namedParameters() where scored.contains(path) {
                let before = originals[path]!.tensor.toArray()
                scores[path] = Tensor(zip(tensor.toArray(), before).map { Swift.abs($0 - $1) }, shape: tensor.shape)
            }
        }
        for (path, original) in originals {
            model.replaceTensor(at: path, with: original.tensor)
            original.tensor.requiringGradient(original.trainable)
        }
        model.setTraining(wasTraining)
        return scores
    }
}
