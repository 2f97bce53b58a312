"""How a transcription job runs: `queue` sends it to a worker, `runner`
claims it, runs its engine and finishes it, `leases` keep running jobs'
claims alive, `sweeper` repairs what a lost worker or broker left behind,
`progress` tells the owner's browsers (and `consumer` is their socket), and
`tasks` are the Celery entry points."""
