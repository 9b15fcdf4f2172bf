/// What a job's task knows about itself.
struct JobContext: Sendable {
    @TaskLocal static var current: JobContext?

    let job: WorkerJob
    let runtime: WorkerRuntime
}
