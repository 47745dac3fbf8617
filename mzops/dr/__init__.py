"""Disaster recovery to the same-city site: plans as data (backup/dr/), replication set
up and checked by mzops (`dr protect`), planned and disaster failover and failback with
position gates, each run's steps timed and recorded."""
