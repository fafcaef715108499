"""Scale-out: run independent jobs (pilot sweeps) on a local process pool or on Ray."""

from tunewise.scale.executor import EXECUTORS, Job, JobOutcome, Resources, run_jobs

__all__ = ["EXECUTORS", "Job", "JobOutcome", "Resources", "run_jobs"]
