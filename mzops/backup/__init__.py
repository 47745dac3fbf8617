"""Backups to tape: policy as data (the repository's `backup/` folder), the tape
machinery (drives, changers, the open tape format), and the jobs built on them."""
