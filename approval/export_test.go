package approval

// CachedConditions is how many compiled conditions the cache holds for
// organization org.
func CachedConditions(org int64) int {
	programs.mu.Lock()
	defer programs.mu.Unlock()
	return len(programs.orgs[org])
}
