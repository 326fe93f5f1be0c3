package sandbox

import (
	"strings"
	"unicode"
)

// Employer is an employer or gig platform a sandbox account can connect to.
type Employer struct {
	// Name is how accounts, activities and users name it ("Uber").
	Name string
	// LinkItem is its Link item ID ("uber").
	LinkItem string
	// LegalName is the employer on its paystubs.
	LegalName string
	// ActivityType is the type of its activities (ActivityRideshare, …).
	ActivityType string
	// JobTitle and EmploymentType fill the profile.
	JobTitle, EmploymentType string
	// HourlyRate is the pay per hour of hourly work, in cents.
	HourlyRate int64
	// ServiceTypes are the circumstances.service_type values it uses.
	ServiceTypes []string
	// RouteURL, when set, is the route page of an activity, with %s for an
	// ID.
	RouteURL string
	// Address is the employer's address on paystubs.
	Address Address
}

// Employers is the sandbox's catalogue, named after Argyle's own sandbox
// employers where it has them. A request for an employer not listed gets an
// hourly employer of that name (see LookupEmployer).
var Employers = []Employer{
	{
		Name: "Uber", LinkItem: "uber", LegalName: "UBER TECHNOLOGIES, INC.", ActivityType: ActivityRideshare,
		JobTitle: "Driver", EmploymentType: "contractor", ServiceTypes: []string{"UberX", "UberXL", "UberPool", "Comfort"},
		RouteURL: "https://partners.uber.com/p3/payments/trips/%s",
		Address:  Address{Line1: "1515 3rd Street", City: "San Francisco", State: "CA", PostalCode: "94158", Country: "US"},
	},
	{
		Name: "Lyft", LinkItem: "lyft", LegalName: "LYFT, INC.", ActivityType: ActivityRideshare,
		JobTitle: "Driver", EmploymentType: "contractor", ServiceTypes: []string{"Lyft", "Lyft XL", "Shared"},
		RouteURL: "https://www.lyft.com/driver/rides/%s",
		Address:  Address{Line1: "185 Berry Street", City: "San Francisco", State: "CA", PostalCode: "94107", Country: "US"},
	},
	{
		Name: "DoorDash", LinkItem: "doordash", LegalName: "DOORDASH, INC.", ActivityType: ActivityDelivery,
		JobTitle: "Dasher", EmploymentType: "contractor",
		Address: Address{Line1: "303 2nd Street", City: "San Francisco", State: "CA", PostalCode: "94107", Country: "US"},
	},
	{
		Name: "Instacart", LinkItem: "instacart", LegalName: "MAPLEBEAR INC.", ActivityType: ActivityDelivery,
		JobTitle: "Shopper", EmploymentType: "contractor",
		Address: Address{Line1: "50 Beale Street", City: "San Francisco", State: "CA", PostalCode: "94105", Country: "US"},
	},
	{
		Name: "TaskRabbit", LinkItem: "taskrabbit", LegalName: "TASKRABBIT, INC.", ActivityType: ActivityServices,
		JobTitle: "Tasker", EmploymentType: "contractor", ServiceTypes: []string{"Furniture Assembly", "Moving Help", "Mounting"},
		Address: Address{Line1: "425 2nd Street", City: "San Francisco", State: "CA", PostalCode: "94107", Country: "US"},
	},
	{
		Name: "Whole Goods", LinkItem: "wholegoods", LegalName: "WHOLE GOODS MARKET, INC.", ActivityType: ActivityHourly,
		JobTitle: "Team Member", EmploymentType: "full-time", HourlyRate: 1850,
		Address: Address{Line1: "550 Bowie Street", City: "Austin", State: "TX", PostalCode: "78703", Country: "US"},
	},
	{
		Name: "Gnome Depot", LinkItem: "gnomedepot", LegalName: "GNOME DEPOT U.S.A., INC.", ActivityType: ActivityHourly,
		JobTitle: "Sales Associate", EmploymentType: "part-time", HourlyRate: 2039,
		Address: Address{Line1: "53 First Street", City: "Atlanta", State: "GA", PostalCode: "30339", Country: "US"},
	},
}

// LookupEmployer returns the catalogue's employer whose name or Link item
// is s, ignoring case, or else an hourly employer called s whose Link item
// is s in lower case without spaces or punctuation.
func LookupEmployer(s string) Employer {
	for _, e := range Employers {
		if strings.EqualFold(e.Name, s) || strings.EqualFold(e.LinkItem, s) {
			return e
		}
	}
	item := strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return -1
	}, s)
	return Employer{
		Name: s, LinkItem: item, LegalName: strings.ToUpper(s), ActivityType: ActivityHourly,
		JobTitle: "Associate", EmploymentType: "full-time", HourlyRate: 1725,
		Address: Address{Line1: "100 Main Street", City: "Springfield", State: "IL", PostalCode: "62701", Country: "US"},
	}
}

// city is where an account's work happens.
type city struct {
	name, state, zip, tz string
	lat, lng             float64
	streets              []string
}

var cities = []city{
	{"San Francisco", "CA", "94103", "America/Los_Angeles", 37.7749, -122.4194, []string{"Market St", "Mission St", "Valencia St", "Geary Blvd"}},
	{"New York", "NY", "10014", "America/New_York", 40.7306, -73.9866, []string{"Broadway", "Hudson St", "Bleecker St", "7th Ave"}},
	{"Chicago", "IL", "60607", "America/Chicago", 41.8781, -87.6298, []string{"Halsted St", "Madison St", "Clark St", "Lake St"}},
	{"Austin", "TX", "78701", "America/Chicago", 30.2672, -97.7431, []string{"Congress Ave", "Lamar Blvd", "6th St", "Guadalupe St"}},
	{"Seattle", "WA", "98101", "America/Los_Angeles", 47.6062, -122.3321, []string{"Pike St", "Pine St", "Aurora Ave N", "Rainier Ave S"}},
}

var (
	firstNames = []string{"Bob", "Alice", "Maria", "James", "Priya", "Diego", "Grace", "Omar", "Chen", "Fatima", "Liam", "Zoe"}
	lastNames  = []string{"Jones", "Smith", "Garcia", "Nguyen", "Patel", "Kim", "Okafor", "Johnson", "Rossi", "Cohen", "Silva", "Brown"}
)
