// Package survey checks a requester's survey answers the way AWX checks
// them when a template is launched, so that Countersign refuses a request at
// submission instead of AWX refusing the launch days later, after the
// approvals.
//
// The checks, their order and their messages are those of AWX's
// SurveyJobTemplateMixin._survey_element_validation; the variables a job
// gets are those of _update_unified_job_kwargs (answers over the defaults
// that are themselves valid answers). Messages show values as Python's
// str() does, because AWX formats them with %s; password values are the
// exception, shown as Encrypted.
//
// Answers are judged by the JSON AWX would receive: json.Number("3") is an
// integer and json.Number("3.0") a float, as for Python's json module. The
// package is pure: no I/O, no clock, no shared state.
package survey
