package catcher

// Add keeps m as if it was received.
func (c *Catcher) Add(m Message) { c.add(m) }
