-- wrk script: every request creates a corrective action (one write transaction with its
-- audit-trail row).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"title":"Backup job failed without an alert","nonconformity":"The nightly backup failed twice and nobody was told.","source":"incident"}'
