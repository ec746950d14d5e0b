import Logging

/// `log_level`: the names swift-log uses, so the value maps one to one onto `Logger.Level`.
public enum LogLevel: String, Sendable, CaseIterable, Equatable {
    case trace, debug, info, notice, warning, error, critical

    public var loggerLevel: Logger.Level {
        switch self {
        case .trace: .trace
        case .debug: .debug
        case .info: .info
        case .notice: .notice
        case .warning: .warning
        case .error: .error
        case .critical: .critical
        }
    }
}
