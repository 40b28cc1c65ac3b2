"""SLURM executor: every cell is one task of a submitit job array, one array per resource shape.

    python -m bench run --executor slurm [--slurm-partition P --slurm-time MIN ...]
    python -m bench status      # submitted jobs and their cells' states
    python -m bench cancel      # scancel them; their cells become `cancelled`

Modules: options.py (the --slurm-* flags and SlurmOptions), jobs.py (a cell's job: its shape, its sbatch
parameters, what it runs on a node), cluster.py (what SLURM says: commands, partition sizes, the shared
folder, job states), runs.py (results/.slurm/<run-id>/jobs.json), driver.py (SlurmExecutor: submit,
wait, land records) and status.py (`bench status` and `bench cancel`). Callers import from them.

- Cells are grouped by (CPUs, GPUs) (`cell_resources` plus the --slurm-* overrides); each group is one
  job array (`slurm_array_parallelism` caps how many of its tasks run at once). A group no partition
  node can ever hold (more CPUs or GPUs than any node has) is recorded `infeasible` up front instead of
  pending forever; a group `sbatch` refuses is recorded `infeasible` with sbatch's message.
- The results folder must be on a filesystem every node sees: the driver checks that it is writable
  before submitting, warns when it is a local filesystem on a multi-node cluster, and a job that cannot
  see it fails saying so. Each run gets a fresh submitit folder, results/.slurm/<run-id>/, with
  jobs.json (job id -> cell) that `bench status` and `bench cancel` read.
- A job runs `run_cell_exclusive` (the cell under its lock, bench/core/lock.py) and writes the cell's
  record itself, so the driver is optional: it polls SLURM at a bounded rate (one `sacct` per poll for
  all jobs), re-saves each record as it lands and draws the same progress line as the other executors.
  Ctrl-C leaves the jobs running and says how to follow or cancel them; re-running the same command
  later reuses every cell they finished.
- Training cells are submitit `Checkpointable`: at preemption or near the time limit SLURM signals the
  job, submitit requeues it (up to `max_requeues` times for time limits) and the requeued job resumes
  from the Trainer's checkpoint.pt (bench/run/train.py resumes bit-exactly on CPU). Other cells are short
  and simply re-run when preempted; a non-training cell past its time limit is recorded `timeout`.
"""
