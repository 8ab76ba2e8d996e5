import Foundation
import SheetSyncCore
import SheetSyncHTTP
import SheetSyncStore

/// Failure notifications (`notify:`): after a run, the event it makes (a job failed, keeps
/// failing, recovered) is queued in `_sheetsync_notifications` in the run's end, then sent:
/// a POST of a JSON message whose `text` reads well in Slack, Mattermost or Teams, with a
/// `webhook-id` that stays the same on every attempt. A message that fails is retried on
/// `notify.backoff` (by the next command that runs a job, or by `serve` every second) up
/// to `notify.attempts`, then marked failed. Data from runs (error messages) is already
/// redacted; it goes in the JSON body as text, never into a template.
extension JobRunner {
    /// Queues what `job`'s run `run`, which ended with `status`, makes of `notify:`, and
    /// sends every message that is due.
    func notifyAfterRun(_ job: JobDefinition, run: Int64?, status: RunStatus, errorMessage: String?) async {
        guard let database else { return }
        // Messages of other jobs that wait for a retry go too, whatever this job's `notify:`.
        guard let run, let settings = job.notify.resolved(project: project.settings.notify) else {
            await sendDueNotifications()
            return
        }
        guard let event = (try? Self.event(job: job.name, run: run, status: status, settings: settings, database: database)) ?? nil,
              settings.on.contains(event.kind) else {
            await sendDueNotifications()
            return
        }
        let project = self.project.directory.lastPathComponent
        var text: String
        switch event.kind {
        case .failure:
            text = "sheetsync (\(project)): job '\(job.name)' failed (run \(run))" + (errorMessage.map { ": \($0)" } ?? "")
        case .stillFailing:
            text = "sheetsync (\(project)): job '\(job.name)' is still failing, \(event.failures) runs in a row (run \(run))" + (errorMessage.map { ": \($0)" } ?? "")
        case .recovery:
            text = "sheetsync (\(project)): job '\(job.name)' recovered (run \(run) \(status.rawValue)) after \(event.failures) failed run\(event.failures == 1 ? "" : "s")"
        }
        let payload = JSONValue.object(JSONObject([
            "text": .string(text), "job": .string(job.name), "event": .string(event.kind.rawValue), "run": .number(String(run)),
            "status": .string(status.rawValue), "error": errorMessage.map(JSONValue.string) ?? .null,
            "failures_in_a_row": .number(String(event.failures)), "project": .string(project),
        ]))
        do {
            try database.queueNotification(job: job.name, event: event.kind.rawValue, run: run, payload: payload.jsonText)
        } catch {
            logger.error("could not queue the '\(event.kind.rawValue)' notification of job '\(job.name)': \(error.message)")
        }
        await sendDueNotifications()
    }

    /// The event a run makes, and the failures in a row it counts (this run's, or those it
    /// recovered from). Runs skipped, interrupted or still running do not count.
    static func event(job: String, run: Int64, status: RunStatus, settings: NotifySettings,
                      database: any WorksheetStore) throws(StoreError) -> (kind: NotifySettings.Event, failures: Int)? {
        switch status {
        case .failed:
            let failures = try database.failuresInARow(job: job, upTo: run)
            if failures == 1 { return (.failure, 1) }
            if settings.repeatAfter > 0, failures > 1, (failures - 1) % settings.repeatAfter == 0 { return (.stillFailing, failures) }
            return nil
        case .succeeded, .partial:
            let before = try database.failuresInARow(job: job, upTo: run - 1)
            return before > 0 ? (.recovery, before) : nil
        default:
            return nil
        }
    }

    /// Sends every notification that is due, once each; failures are rescheduled.
    public func sendDueNotifications() async {
        let now = WorksheetDatabase.timestamp(Date())
        guard let database, let due = try? database.dueNotifications(now: now), !due.isEmpty else { return }
        for message in due {
            // One sender per message: the request's timeout is 10 s, the claim a minute.
            guard (try? database.claimNotification(message.id, now: now, until: WorksheetDatabase.timestamp(Date().addingTimeInterval(60)))) == true else { continue }
            let job = project.job(named: message.job)
            guard let settings = (job?.notify ?? .project).resolved(project: project.settings.notify) else {
                try? database.finishNotification(message.id, delivered: false, status: nil,
                                                 error: "notify: is no longer configured for job '\(message.job)'", nextAttempt: nil)
                continue
            }
            let values = Self.templateValues(project: project, names: settings.url.references, params: [:], state: [:])
            let redactor = Redactor(secrets: values.secrets.values)
            var spec = HTTPRequestSpec(method: .POST, url: settings.url, timeout: .seconds(10))
            spec.retry = RetryPolicy(attempts: 1)  // the ledger retries, on notify.backoff
            let builder = RequestBuilder(projectDirectory: project.directory, userAgent: project.settings.http.userAgent)
            let outcome: (delivered: Bool, status: Int?, error: String?)
            do {
                var request = try builder.build(spec, values: values)
                request.body = Array(message.payload.utf8)
                request.headers += [("Content-Type", "application/json"), ("webhook-id", message.notificationID)]
                let exchange = await transport.send(request, redactor: redactor)
                switch exchange.result {
                case .success(let response): outcome = (true, response.status, nil)
                case .failure(let error): outcome = (false, error.status, redactor.redact(error.message))
                }
            } catch {
                outcome = (false, nil, redactor.redact(error.message))
            }
            let attemptsDone = message.attempts + 1
            var next: String?
            if !outcome.delivered, attemptsDone < settings.attempts {
                let delay = settings.backoff.isEmpty ? Duration.seconds(60) : settings.backoff[min(attemptsDone - 1, settings.backoff.count - 1)]
                next = WorksheetDatabase.timestamp(Date().addingTimeInterval(Double(delay.components.seconds) + Double(delay.components.attoseconds) / 1e18))
            }
            if !outcome.delivered {
                logger.warning("notification \(message.notificationID) of job '\(message.job)' not delivered (attempt \(attemptsDone) of \(settings.attempts)): \(outcome.error ?? "")")
            }
            try? database.finishNotification(message.id, delivered: outcome.delivered, status: outcome.status, error: outcome.error, nextAttempt: next)
        }
    }
}
