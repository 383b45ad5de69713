"""One work-item shape for every service's queues: workflow (pure), tables, repository, API, announcements."""
