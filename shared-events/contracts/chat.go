package contracts

import "time"

// TypeReportFiledV1 is the type of ReportFiledV1 events.
const TypeReportFiledV1 = "chat.report.filed.v1"

// ReportMaxReasonLength is the most characters (Unicode code points) a report's
// reason may have.
const ReportMaxReasonLength = 500

// ReportFiledV1 is the data of chat.report.filed.v1, chat's "user reported" event:
// in a conversation, one user reported the other to the moderators, who work the
// report in scs-users.
//
// The aggregate is the report (chat.report), not the reported user, so that the
// subject is ReportID and the aggregate version is always 1: a report is filed
// once and never changes in chat.
type ReportFiledV1 struct {
	// ReportID is the report's id.
	ReportID string `json:"report_id"`
	// ReporterID is the id of the user who filed the report.
	ReporterID string `json:"reporter_id"`
	// ReportedUserID is the id of the user the report is about.
	ReportedUserID string `json:"reported_user_id"`
	// ConversationID is the conversation the report was filed from.
	ConversationID string `json:"conversation_id"`
	// Reason is what the reporter wrote, 1 to ReportMaxReasonLength characters.
	// It is user input: escape it wherever it is shown.
	Reason string `json:"reason"`
	// ReportedAt is when the report was filed.
	ReportedAt time.Time `json:"reported_at"`
}

// EventType returns TypeReportFiledV1.
func (ReportFiledV1) EventType() string { return TypeReportFiledV1 }

// Subject returns the report's id.
func (p ReportFiledV1) Subject() string { return p.ReportID }

// Validate reports the first field that breaks the schema, as a *DataError.
func (p ReportFiledV1) Validate() error {
	return firstError(
		checkUUID(TypeReportFiledV1, "report_id", p.ReportID),
		checkUUID(TypeReportFiledV1, "reporter_id", p.ReporterID),
		checkUUID(TypeReportFiledV1, "reported_user_id", p.ReportedUserID),
		checkUUID(TypeReportFiledV1, "conversation_id", p.ConversationID),
		checkLength(TypeReportFiledV1, "reason", p.Reason, 1, ReportMaxReasonLength),
		checkTime(TypeReportFiledV1, "reported_at", p.ReportedAt),
	)
}
