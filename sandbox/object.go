package sandbox

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/hookd/hookd"
)

// Timestamp is a record time (created_at, updated_at): it marshals as
// hookd.FormatTime does, UTC with microseconds and a Z.
type Timestamp struct{ time.Time }

// NewTimestamp returns t in UTC truncated to microseconds.
func NewTimestamp(t time.Time) Timestamp { return Timestamp{hookd.Truncate(t)} }

// MarshalJSON implements json.Marshaler.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return []byte(`"` + hookd.FormatTime(t.Time) + `"`), nil
}

// UnmarshalJSON implements json.Unmarshaler; it accepts any RFC 3339 time.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	v, err := parseJSONTime(b)
	if err != nil {
		return err
	}
	t.Time = hookd.Truncate(v)
	return nil
}

// DateTime is a data time (start_date, payout_date, available_from): it
// marshals as RFC 3339 in UTC to the second ("2019-09-23T23:57:31Z"), as
// Argyle's examples write them. Values are truncated to the second so that a
// string copied from a webhook payload filters exactly.
type DateTime struct{ time.Time }

// NewDateTime returns t in UTC truncated to the second.
func NewDateTime(t time.Time) DateTime { return DateTime{t.UTC().Truncate(time.Second)} }

// MarshalJSON implements json.Marshaler.
func (t DateTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.UTC().Format(time.RFC3339) + `"`), nil
}

// UnmarshalJSON implements json.Unmarshaler; it accepts any RFC 3339 time.
func (t *DateTime) UnmarshalJSON(b []byte) error {
	v, err := parseJSONTime(b)
	if err != nil {
		return err
	}
	t.Time = v.UTC().Truncate(time.Second)
	return nil
}

func parseJSONTime(b []byte) (time.Time, error) {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return time.Time{}, fmt.Errorf("parse time: %w", err)
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse time: %w", err)
	}
	return v, nil
}

// User is a v1 user (GET /v1/users/{id}).
type User struct {
	ID        string    `json:"id"`
	CreatedAt Timestamp `json:"created_at"`
	// EmployersConnected lists the employer names of the user's connected
	// accounts.
	EmployersConnected []string `json:"employers_connected"`
	// DataProvidersConnected lists the Link item IDs of the user's connected
	// accounts.
	DataProvidersConnected []string `json:"data_providers_connected"`
	// ExternalMetadata is client-set JSON; {} when unset.
	ExternalMetadata json.RawMessage `json:"external_metadata"`
}

// Resource returns the user as users.fully_synced carries it in data.resource,
// with the keys in the order of Argyle's example: id,
// data_providers_connected, employers_connected, external_metadata,
// created_at.
func (u *User) Resource() (json.RawMessage, error) {
	return orderedJSON(
		"id", u.ID,
		"data_providers_connected", nonNil(u.DataProvidersConnected),
		"employers_connected", nonNil(u.EmployersConnected),
		"external_metadata", u.metadata(),
		"created_at", u.CreatedAt,
	)
}

func (u *User) metadata() json.RawMessage {
	if len(u.ExternalMetadata) == 0 {
		return json.RawMessage("{}")
	}
	return u.ExternalMetadata
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Connection statuses of an account.
const (
	ConnectionConnecting = "connecting"
	ConnectionConnected  = "connected"
	ConnectionError      = "error"
)

// Availability statuses of an account's resource.
const (
	AvailabilitySynced     = "synced"
	AvailabilityInProgress = "in_progress"
)

// SourceSandbox is the source of every sandbox account.
const SourceSandbox = "argyle_sandbox"

// Account is a v1 account (GET /v1/accounts/{id}): one user's connection to
// one employer or platform.
type Account struct {
	ID   string `json:"id"`
	User string `json:"user"`
	// Employers holds the employer names, usually one.
	Employers []string `json:"employers"`
	// LinkItem is the Link item ID the user picked ("uber").
	LinkItem string `json:"link_item"`
	// DataPartner is the deprecated alias of LinkItem.
	DataPartner string `json:"data_partner"`
	// Item is the sequential item ID ("item_000019016").
	Item string `json:"item"`
	// Source is SourceSandbox.
	Source    string    `json:"source"`
	CreatedAt Timestamp `json:"created_at"`
	UpdatedAt Timestamp `json:"updated_at"`
	// WasConnected becomes true on the first successful connect and stays so.
	WasConnected    bool             `json:"was_connected"`
	Connection      Connection       `json:"connection"`
	PayDistribution *PayDistribution `json:"pay_distribution"`
	Availability    Availability     `json:"availability"`
}

// Connection is an account's connection state.
type Connection struct {
	// Status is ConnectionConnecting, ConnectionConnected or ConnectionError.
	Status       string    `json:"status"`
	ErrorCode    *string   `json:"error_code"`
	ErrorMessage *string   `json:"error_message"`
	UpdatedAt    Timestamp `json:"updated_at"`
}

// PayDistribution is the state of an account's direct-deposit switch. The
// sandbox never switches deposits, so accounts carry null.
type PayDistribution struct {
	Status       string    `json:"status"`
	Error        *string   `json:"error"`
	ErrorMessage *string   `json:"error_message"`
	UpdatedAt    Timestamp `json:"updated_at"`
}

// Availability is an account's per-resource sync state. A nil member is null
// (forms always; every member while an account has failed).
type Availability struct {
	Activities  *SeriesAvailability   `json:"activities"`
	Payouts     *SeriesAvailability   `json:"payouts"`
	Profiles    *ResourceAvailability `json:"profiles"`
	Documents   *ResourceAvailability `json:"documents"`
	Vehicles    *ResourceAvailability `json:"vehicles"`
	Reputations *ResourceAvailability `json:"reputations"`
	Employments *ResourceAvailability `json:"employments"`
	Forms       *ResourceAvailability `json:"forms"`
}

// ResourceAvailability is the sync state of one resource.
type ResourceAvailability struct {
	// Status is AvailabilitySynced or AvailabilityInProgress.
	Status    string    `json:"status"`
	UpdatedAt Timestamp `json:"updated_at"`
}

// SeriesAvailability is the sync state of a time-series resource
// (activities, payouts): how many items are available and the earliest and
// latest start_date (payout_date) among them, null when there are none.
type SeriesAvailability struct {
	Status         string    `json:"status"`
	UpdatedAt      Timestamp `json:"updated_at"`
	AvailableCount int       `json:"available_count"`
	AvailableFrom  *DateTime `json:"available_from"`
	AvailableTo    *DateTime `json:"available_to"`
}

// Activity statuses.
const (
	ActivityScheduled  = "scheduled"
	ActivityInProgress = "in_progress"
	ActivityCompleted  = "completed"
	ActivityCancelled  = "cancelled"
)

// Activity types.
const (
	ActivityDelivery  = "delivery"
	ActivityRideshare = "rideshare"
	ActivityHourly    = "hourly"
	ActivityServices  = "services"
)

// Activity earning types.
const (
	EarningOffer      = "offer"
	EarningWork       = "work"
	EarningIncentive  = "incentive"
	EarningAdjustment = "adjustment"
	EarningOther      = "other"
)

// Distance units.
const (
	DistanceMiles = "miles"
	DistanceKM    = "km"
)

// Activity is a v1 activity (GET /v1/activities): one unit of gig or shift
// work. Money and coordinates are decimal strings; nil pointers are null.
type Activity struct {
	ID          string `json:"id"`
	Account     string `json:"account"`
	Employer    string `json:"employer"`
	LinkItem    string `json:"link_item"`
	DataPartner string `json:"data_partner"`
	// CompleteDataAvailable is deprecated; always true in the sandbox.
	CompleteDataAvailable bool      `json:"complete_data_available"`
	CreatedAt             Timestamp `json:"created_at"`
	UpdatedAt             Timestamp `json:"updated_at"`
	// Status is one of the Activity* status constants.
	Status string `json:"status"`
	// Type is ActivityDelivery, ActivityRideshare, ActivityHourly or
	// ActivityServices.
	Type     string `json:"type"`
	NumTasks *int   `json:"num_tasks"`
	// StartDate is what from_start_date and to_start_date filter on.
	StartDate    DateTime     `json:"start_date"`
	EndDate      DateTime     `json:"end_date"`
	AllDatetimes AllDatetimes `json:"all_datetimes"`
	// Duration is in seconds.
	Duration int     `json:"duration"`
	Timezone *string `json:"timezone"`
	// EarningType is one of the Earning* constants.
	EarningType   string         `json:"earning_type"`
	StartLocation *Location      `json:"start_location"`
	EndLocation   *Location      `json:"end_location"`
	Route         *string        `json:"route"`
	Distance      *string        `json:"distance"`
	DistanceUnit  *string        `json:"distance_unit"`
	Metadata      map[string]any `json:"metadata"`
	Circumstances Circumstances  `json:"circumstances"`
	Income        Income         `json:"income"`
	IncomeRates   IncomeRates    `json:"income_rates"`
}

// AllDatetimes holds an activity's milestones; nil members are null.
type AllDatetimes struct {
	RequestAt  *DateTime `json:"request_at"`
	AcceptAt   *DateTime `json:"accept_at"`
	PickupAt   *DateTime `json:"pickup_at"`
	DropoffAt  *DateTime `json:"dropoff_at"`
	CancelAt   *DateTime `json:"cancel_at"`
	ShiftStart *DateTime `json:"shift_start"`
	ShiftEnd   *DateTime `json:"shift_end"`
	BreakStart *DateTime `json:"break_start"`
	BreakEnd   *DateTime `json:"break_end"`
	Breaks     []Break   `json:"breaks"`
}

// Break is one break during a shift.
type Break struct {
	StartDate DateTime `json:"start_date"`
	EndDate   DateTime `json:"end_date"`
}

// Location is a place; coordinates are decimal strings.
type Location struct {
	Lat              string `json:"lat"`
	Lng              string `json:"lng"`
	FormattedAddress string `json:"formatted_address"`
}

// Circumstances holds item-specific flags of an activity.
type Circumstances struct {
	IsPool      bool    `json:"is_pool"`
	IsRush      bool    `json:"is_rush"`
	IsSurge     bool    `json:"is_surge"`
	ServiceType *string `json:"service_type"`
	Position    any     `json:"position"`
}

// Income is what an activity earned. Total is Pay+Tips+Bonus; TotalCharge is
// what the customer paid (Total+Fees).
type Income struct {
	Currency    string  `json:"currency"`
	TotalCharge *string `json:"total_charge"`
	Fees        *string `json:"fees"`
	Total       *string `json:"total"`
	Pay         *string `json:"pay"`
	Tips        *string `json:"tips"`
	Bonus       *string `json:"bonus"`
	Taxes       *string `json:"taxes"`
}

// IncomeRates are an activity's earnings per hour and per mile.
type IncomeRates struct {
	Hour *string `json:"hour"`
	Mile *string `json:"mile"`
}

// Payout statuses.
const (
	PayoutCompleted = "completed"
	PayoutScheduled = "scheduled"
	PayoutCancelled = "cancelled"
)

// Payout types.
const (
	PayoutDirectDeposit = "direct_deposit"
	PayoutPaperCheck    = "paper_check"
	PayoutPaypal        = "paypal"
	PayoutMoneyNetwork  = "money_network"
	PayoutPayCard       = "pay_card"
	PayoutOther         = "other"
)

// Payout is a v1 payout (GET /v1/payouts): one normalised paystub. Money is
// decimal strings; nil pointers are null.
type Payout struct {
	ID              string         `json:"id"`
	Account         string         `json:"account"`
	DocumentID      *string        `json:"document_id"`
	Metadata        map[string]any `json:"metadata"`
	CreatedAt       Timestamp      `json:"created_at"`
	UpdatedAt       Timestamp      `json:"updated_at"`
	Employer        string         `json:"employer"`
	EmployerAddress Address        `json:"employer_address"`
	// Status is PayoutCompleted, PayoutScheduled or PayoutCancelled.
	Status string `json:"status"`
	// PayoutDate is what from_start_date and to_start_date filter on.
	PayoutDate   DateTime     `json:"payout_date"`
	PayoutPeriod PayoutPeriod `json:"payout_period"`
	// Type is one of the Payout* type constants.
	Type               string         `json:"type"`
	Currency           string         `json:"currency"`
	Hours              *string        `json:"hours"`
	GrossPay           *string        `json:"gross_pay"`
	NetPay             *string        `json:"net_pay"`
	Reimbursements     *string        `json:"reimbursements"`
	Deductions         *string        `json:"deductions"`
	Taxes              *string        `json:"taxes"`
	Fees               *string        `json:"fees"`
	Overtime           *string        `json:"overtime"`
	Bonuses            *string        `json:"bonuses"`
	Commission         *string        `json:"commission"`
	HoursYTD           *string        `json:"hours_ytd"`
	GrossPayYTD        *string        `json:"gross_pay_ytd"`
	NetPayYTD          *string        `json:"net_pay_ytd"`
	DeductionsYTD      *string        `json:"deductions_ytd"`
	TaxesYTD           *string        `json:"taxes_ytd"`
	FilingStatus       []FilingStatus `json:"filing_status"`
	GrossPayList       []GrossPay     `json:"gross_pay_list"`
	GrossPayListTotals map[string]any `json:"gross_pay_list_totals"`
	DeductionList      []Deduction    `json:"deduction_list"`
	TaxList            []Tax          `json:"tax_list"`
}

// Address is a postal address; Country is ISO 3166 alpha-2.
type Address struct {
	Line1      string  `json:"line1"`
	Line2      *string `json:"line2"`
	City       string  `json:"city"`
	State      string  `json:"state"`
	PostalCode string  `json:"postal_code"`
	Country    string  `json:"country"`
}

// PayoutPeriod is the pay period a payout covers.
type PayoutPeriod struct {
	StartDate DateTime `json:"start_date"`
	EndDate   DateTime `json:"end_date"`
}

// FilingStatus is one tax filing status on a paystub.
type FilingStatus struct {
	Type     string  `json:"type"`
	Location *string `json:"location"`
	Status   string  `json:"status"`
}

// GrossPay is one line of a paystub's earnings; dates are "YYYY-MM-DD".
type GrossPay struct {
	Name      string  `json:"name"`
	Type      string  `json:"type"`
	StartDate *string `json:"start_date"`
	EndDate   *string `json:"end_date"`
	Rate      *string `json:"rate"`
	Hours     *string `json:"hours"`
	Amount    *string `json:"amount"`
	HoursYTD  *string `json:"hours_ytd"`
	AmountYTD *string `json:"amount_ytd"`
}

// Deduction is one line of a paystub's deductions.
type Deduction struct {
	Name              string  `json:"name"`
	Amount            *string `json:"amount"`
	TaxClassification string  `json:"tax_classification"`
}

// Tax is one line of a paystub's taxes.
type Tax struct {
	Name   string  `json:"name"`
	Type   string  `json:"type"`
	Amount *string `json:"amount"`
}

// Profile is a v1 profile (GET /v1/profiles): identity data for one account.
type Profile struct {
	ID          string  `json:"id"`
	Account     string  `json:"account"`
	Employer    string  `json:"employer"`
	FirstName   string  `json:"first_name"`
	LastName    string  `json:"last_name"`
	FullName    string  `json:"full_name"`
	Email       string  `json:"email"`
	PhoneNumber string  `json:"phone_number"`
	BirthDate   string  `json:"birth_date"`
	PictureURL  *string `json:"picture_url"`
	Address     Address `json:"address"`
	SSN         string  `json:"ssn"`
	// MaritalStatus and Gender are free text.
	MaritalStatus    string         `json:"marital_status"`
	Gender           string         `json:"gender"`
	Metadata         map[string]any `json:"metadata"`
	EmploymentStatus string         `json:"employment_status"`
	EmploymentType   string         `json:"employment_type"`
	JobTitle         string         `json:"job_title"`
	PlatformUserID   string         `json:"platform_user_id"`
	CreatedAt        Timestamp      `json:"created_at"`
	UpdatedAt        Timestamp      `json:"updated_at"`
}

// orderedJSON marshals alternating key, value pairs as one JSON object with
// the keys in the order given.
func orderedJSON(pairs ...any) (json.RawMessage, error) {
	b := []byte{'{'}
	for i := 0; i+1 < len(pairs); i += 2 {
		if i > 0 {
			b = append(b, ',')
		}
		k, err := json.Marshal(pairs[i])
		if err != nil {
			return nil, fmt.Errorf("marshal key: %w", err)
		}
		v, err := json.Marshal(pairs[i+1])
		if err != nil {
			return nil, fmt.Errorf("marshal %s: %w", k, err)
		}
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}'), nil
}
