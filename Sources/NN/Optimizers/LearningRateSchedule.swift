import Foundation

/// The learning rate as a function of the optimizer step, with linear warm-up, as in
/// transformers' `get_linear_schedule_with_warmup` / `get_cosine_schedule_with_warmup`.
///
/// ```swift
/// let schedule = LearningRateSchedule(kind: .linear, peak: 5e-4, warmupSteps: 30, totalSteps: 300)
/// optimizer.learningRate = schedule.learningRate(atStep: step)
/// ```
public struct LearningRateSchedule: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case constant, linear, cosine
    }

    public var kind: Kind
    public var peak: Float
    public var warmupSteps: Int
    public var totalSteps: Int

    public init(kind: Kind, peak: Float, warmupSteps: Int = 0, totalSteps: Int = 0) {
        precondition(warmupSteps >= 0 && totalSteps >= 0, "LearningRateSchedule: negative step counts")
        self.kind = kind
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
    }

    /// The rate for the update with zero-based index `step`.
    public func learningRate(atStep step: Int) -> Float {
        if step < warmupSteps { return peak * Float(step) / Float(max(1, warmupSteps)) }
        let decaySteps = max(1, totalSteps - warmupSteps)
        let progress = min(1, Float(step - warmupSteps) / Float(decaySteps))
        switch kind {
        case .constant: return peak
        case .linear: return peak * max(0, 1 - progress)
        case .cosine: return peak * 0.5 * (1 + Float(Foundation.cos(Double.pi * Double(progress))))
        }
    }
}
