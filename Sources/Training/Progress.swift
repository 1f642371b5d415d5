import Foundation

/// Where a run stands, for progress display.
public struct ProgressSnapshot: Sendable {
    public var step: Int
    public var totalSteps: Int
    public var epoch: Int
    public var epochs: Int
    public var loss: Double
    public var stepsPerSecond: Double
    public var tokensPerSecond: Double
    public var elapsedSeconds: Double

    public var etaSeconds: Double { stepsPerSecond > 0 ? Double(totalSteps - step) / stepsPerSecond : 0 }
}

/// Shows training progress: on a terminal a live bar on standard error (redrawn in place, at
/// most 5 times a second); otherwise a plain line every `lineEvery` steps.
///
/// ```swift
/// let progress = ConsoleProgress(lineEvery: 10)
/// progress.update(snapshot)
/// progress.finish()
/// ```
public final class ConsoleProgress {
    public let isTerminal: Bool
    public let lineEvery: Int
    private var lastDraw = Date.distantPast
    private var drewBar = false

    public init(isTerminal: Bool = isatty(STDERR_FILENO) != 0, lineEvery: Int = 10) {
        self.isTerminal = isTerminal
        self.lineEvery = max(1, lineEvery)
    }

    public func update(_ snapshot: ProgressSnapshot) {
        if isTerminal {
            let now = Date()
            guard now.timeIntervalSince(lastDraw) >= 0.2 || snapshot.step == snapshot.totalSteps else { return }
            lastDraw = now
            drewBar = true
            write("\r" + Self.bar(snapshot) + "\u{1B}[K")
        } else if snapshot.step % lineEvery == 0 || snapshot.step == snapshot.totalSteps {
            write(Self.line(snapshot) + "\n")
        }
    }

    /// Prints a message on its own line, above the bar.
    public func message(_ text: String) {
        write((drewBar ? "\r\u{1B}[K" : "") + text + "\n")
    }

    public func finish() {
        if drewBar { write("\n") }
        drewBar = false
    }

    static func bar(_ snapshot: ProgressSnapshot, width: Int = 24) -> String {
        let fraction = snapshot.totalSteps > 0 ? Double(snapshot.step) / Double(snapshot.totalSteps) : 0
        let filled = Int((fraction * Double(width)).rounded(.down))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        return String(format: "%@ %3.0f%% step %d/%d  epoch %d/%d  loss %.4f  %.2f steps/s  %.0f tok/s  ETA %@",
                      bar, fraction * 100, snapshot.step, snapshot.totalSteps, snapshot.epoch + 1, snapshot.epochs,
                      snapshot.loss, snapshot.stepsPerSecond, snapshot.tokensPerSecond, formatDuration(snapshot.etaSeconds))
    }

    static func line(_ snapshot: ProgressSnapshot) -> String {
        String(format: "step %d/%d epoch %d/%d loss %.4f %.2f steps/s %.0f tokens/s elapsed %@ eta %@",
               snapshot.step, snapshot.totalSteps, snapshot.epoch + 1, snapshot.epochs, snapshot.loss,
               snapshot.stepsPerSecond, snapshot.tokensPerSecond, formatDuration(snapshot.elapsedSeconds),
               formatDuration(snapshot.etaSeconds))
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// "74498 of 22788484 (0.327%)".
public func trainableSummary(_ trainable: Int, of total: Int) -> String {
    String(format: "%d of %d (%.3f%%)", trainable, total, 100 * Double(trainable) / Double(Swift.max(1, total)))
}

/// Bytes as whole mebibytes: "812 MiB".
public func formatMebibytes(_ bytes: Int) -> String { String(format: "%.0f MiB", Double(bytes) / 1_048_576) }

/// "1:05:09", "4:02" or "0:07".
public func formatDuration(_ seconds: Double) -> String {
    let total = Int(seconds.rounded())
    let (hours, minutes, rest) = (total / 3600, total / 60 % 60, total % 60)
    return hours > 0 ? String(format: "%d:%02d:%02d", hours, minutes, rest) : String(format: "%d:%02d", minutes, rest)
}
