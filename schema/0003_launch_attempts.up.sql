-- When a worker first sent this request's launch to AWX. A launch whose
-- answer was lost can only have created a job after this time, and a request
-- without it has certainly launched nothing.
ALTER TABLE service_requests ADD COLUMN launch_attempted_at timestamptz;
