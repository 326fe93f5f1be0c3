package sandbox

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

const day = 24 * time.Hour

// payPeriod is the interval between payouts.
const payPeriod = 14 * day

// payAnchor is a payout date; payouts fall on it and every payPeriod from it
// (Fridays, UTC midnight), whatever the account.
var payAnchor = time.Date(2024, time.January, 5, 0, 0, 0, 0, time.UTC)

// Generator makes realistic sandbox objects. Its output depends only on its
// seed and its arguments: two generators with the same seed, given the same
// calls, produce the same objects, IDs included unless NewID says otherwise.
// A Generator is not safe for concurrent use.
type Generator struct {
	// NewID, when set, gives the objects' IDs (the Simulator uses
	// hookd.NewID, so that IDs never repeat). When nil, IDs are UUIDs drawn
	// from the seed. Either way the rest of the data is the same.
	NewID func() string

	rng *rand.Rand
	ids *rand.Rand
}

// NewGenerator returns a generator seeded with seed.
func NewGenerator(seed int64) *Generator {
	return &Generator{
		rng: rand.New(rand.NewPCG(uint64(seed), 0x5eed_da7a)),
		ids: rand.New(rand.NewPCG(uint64(seed), 0x1d5_1d5)),
	}
}

func (g *Generator) id() string {
	if g.NewID != nil {
		return g.NewID()
	}
	hi, lo := g.ids.Uint64(), g.ids.Uint64()
	hi = hi&^0xf000 | 0x4000     // version 4
	lo = lo&^(0xc<<60) | 0x8<<60 // RFC 4122 variant
	s := fmt.Sprintf("%016x%016x", hi, lo)
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// between returns a uniform integer in [lo, hi].
func (g *Generator) between(lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return lo + g.rng.Int64N(hi-lo+1)
}

func (g *Generator) chance(p float64) bool { return g.rng.Float64() < p }

func pick[T any](g *Generator, s []T) T { return s[g.rng.IntN(len(s))] }

// Dataset is everything one connected account holds.
type Dataset struct {
	// Account is connected and synced, its availability describing the
	// activities and payouts.
	Account *Account
	Profile *Profile
	// Activities are ordered by start_date, oldest first.
	Activities []*Activity
	// Payouts are ordered by payout_date, oldest first.
	Payouts []*Payout
}

// User returns a new user created at now, with nothing connected.
func (g *Generator) User(now time.Time) *User {
	return &User{
		ID:                     g.id(),
		CreatedAt:              NewTimestamp(now),
		EmployersConnected:     []string{},
		DataProvidersConnected: []string{},
		ExternalMetadata:       json.RawMessage("{}"),
	}
}

// Generate returns a connected account of user at employer with n
// activities spread over the days before now, the biweekly payouts of that
// history, and a profile. Every object is created at now.
func (g *Generator) Generate(now time.Time, user string, emp Employer, days, n int) *Dataset {
	now = NewTimestamp(now).Time
	a := g.Account(now, user, emp)
	ds := &Dataset{Account: a}
	ds.Profile = g.Profile(now, a, emp)
	from := now.Add(-time.Duration(days) * day)
	ds.Activities = g.Activities(now, a, emp, n, from)
	ds.Payouts = g.Payouts(now, a, emp, ds.Activities, from, nil)
	connect(a, now)
	a.Availability = syncedAvailability(now, summarizeActivities(ds.Activities), summarizePayouts(ds.Payouts))
	return ds
}

// Account returns a new account of user at emp, created at now and still
// connecting.
func (g *Generator) Account(now time.Time, user string, emp Employer) *Account {
	ts := NewTimestamp(now)
	return &Account{
		ID:           g.id(),
		User:         user,
		Employers:    []string{emp.Name},
		LinkItem:     emp.LinkItem,
		DataPartner:  emp.LinkItem,
		Item:         fmt.Sprintf("item_%09d", g.between(1, 999_999_999)),
		Source:       SourceSandbox,
		CreatedAt:    ts,
		UpdatedAt:    ts,
		Connection:   Connection{Status: ConnectionConnecting, UpdatedAt: ts},
		Availability: inProgressAvailability(ts),
	}
}

// inProgressAvailability is the availability of an account still syncing.
func inProgressAvailability(ts Timestamp) Availability {
	syncing := func() *ResourceAvailability {
		return &ResourceAvailability{Status: AvailabilityInProgress, UpdatedAt: ts}
	}
	return Availability{
		Activities:  &SeriesAvailability{Status: AvailabilityInProgress, UpdatedAt: ts},
		Payouts:     &SeriesAvailability{Status: AvailabilityInProgress, UpdatedAt: ts},
		Profiles:    syncing(),
		Documents:   syncing(),
		Vehicles:    syncing(),
		Reputations: syncing(),
		Employments: syncing(),
	}
}

// cityIndex derives the account's city from its item number, so that later
// activities (refreshes) happen in the same city.
func (a *Account) cityIndex(n int) int { return a.itemNumber() % n }

func (a *Account) itemNumber() int {
	v, _ := strconv.Atoi(strings.TrimPrefix(a.Item, "item_"))
	return v
}

// connect marks a connected at now.
func connect(a *Account, now time.Time) {
	ts := NewTimestamp(now)
	a.WasConnected = true
	a.Connection = Connection{Status: ConnectionConnected, UpdatedAt: ts}
	a.UpdatedAt = ts
}

// syncedAvailability is the availability of a fully synced account.
func syncedAvailability(now time.Time, acts, pays Summary) Availability {
	ts := NewTimestamp(now)
	synced := func() *ResourceAvailability { return &ResourceAvailability{Status: AvailabilitySynced, UpdatedAt: ts} }
	return Availability{
		Activities:  series(ts, acts),
		Payouts:     series(ts, pays),
		Profiles:    synced(),
		Documents:   synced(),
		Vehicles:    synced(),
		Reputations: synced(),
		Employments: synced(),
	}
}

func series(ts Timestamp, s Summary) *SeriesAvailability {
	return &SeriesAvailability{
		Status: AvailabilitySynced, UpdatedAt: ts, AvailableCount: s.Count,
		AvailableFrom: dateTimePtr(s.From), AvailableTo: dateTimePtr(s.To),
	}
}

func dateTimePtr(t *time.Time) *DateTime {
	if t == nil {
		return nil
	}
	d := NewDateTime(*t)
	return &d
}

func summarizeActivities(as []*Activity) Summary {
	var s Summary
	for _, a := range as {
		s = s.add(a.StartDate.Time)
	}
	return s
}

func summarizePayouts(ps []*Payout) Summary {
	var s Summary
	for _, p := range ps {
		s = s.add(p.PayoutDate.Time)
	}
	return s
}

func (s Summary) add(t time.Time) Summary {
	s.Count++
	if s.From == nil || t.Before(*s.From) {
		s.From = &t
	}
	if s.To == nil || t.After(*s.To) {
		s.To = &t
	}
	return s
}

// Profile returns the identity of a's worker, created at now.
func (g *Generator) Profile(now time.Time, a *Account, emp Employer) *Profile {
	ts := NewTimestamp(now)
	c := cities[a.cityIndex(len(cities))]
	first, last := pick(g, firstNames), pick(g, lastNames)
	born := time.Date(int(g.between(1960, 2002)), time.Month(g.between(1, 12)), int(g.between(1, 28)), 0, 0, 0, 0, time.UTC)
	married := pick(g, []string{"single", "married"})
	gender := pick(g, []string{"female", "male"})
	return &Profile{
		ID:          g.id(),
		Account:     a.ID,
		Employer:    emp.Name,
		FirstName:   first,
		LastName:    last,
		FullName:    first + " " + last,
		Email:       fmt.Sprintf("%s.%s%d@example.com", strings.ToLower(first), strings.ToLower(last), g.between(1, 99)),
		PhoneNumber: fmt.Sprintf("+1800900%04d", g.between(0, 9999)),
		BirthDate:   born.Format(time.DateOnly),
		Address: Address{
			Line1: fmt.Sprintf("%d %s", g.between(10, 9999), pick(g, c.streets)),
			City:  c.name, State: c.state, PostalCode: c.zip, Country: "US",
		},
		SSN:              fmt.Sprintf("000-00-%04d", g.between(0, 9999)),
		MaritalStatus:    married,
		Gender:           gender,
		Metadata:         map[string]any{},
		EmploymentStatus: "active",
		EmploymentType:   emp.EmploymentType,
		JobTitle:         emp.JobTitle,
		PlatformUserID:   g.token(10),
		CreatedAt:        ts,
		UpdatedAt:        ts,
	}
}

func (g *Generator) token(n int) string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[g.rng.IntN(len(alphabet))]
	}
	return string(b)
}

// Activities returns n activities of a, created at now, whose start_date
// lies in [from, now) and whose end_date is no later than now when the span
// allows it, ordered by start_date, oldest first.
func (g *Generator) Activities(now time.Time, a *Account, emp Employer, n int, from time.Time) []*Activity {
	c := cities[a.cityIndex(len(cities))]
	from, now = from.UTC().Truncate(time.Second), now.UTC()
	out := make([]*Activity, 0, n)
	for range n {
		dur := g.duration(emp.ActivityType)
		latest := now.Add(-dur).Truncate(time.Second)
		start := from
		if latest.After(from) {
			start = from.Add(time.Duration(g.between(0, int64(latest.Sub(from)/time.Second))) * time.Second)
		}
		out = append(out, g.activity(now, a, emp, c, start, dur))
	}
	slices.SortStableFunc(out, func(x, y *Activity) int { return x.StartDate.Compare(y.StartDate.Time) })
	return out
}

func (g *Generator) duration(typ string) time.Duration {
	switch typ {
	case ActivityHourly:
		return time.Duration(g.between(4*60, 9*60)) * time.Minute
	case ActivityServices:
		return time.Duration(g.between(45, 240)) * time.Minute
	default:
		return time.Duration(g.between(6*60, 45*60)) * time.Second
	}
}

func (g *Generator) location(c city) *Location {
	lat := c.lat + (g.rng.Float64()-0.5)*0.12
	lng := c.lng + (g.rng.Float64()-0.5)*0.12
	return &Location{
		Lat:              strconv.FormatFloat(lat, 'f', 10, 64),
		Lng:              strconv.FormatFloat(lng, 'f', 10, 64),
		FormattedAddress: fmt.Sprintf("%d %s, %s, %s %s, USA", g.between(1, 2999), pick(g, c.streets), c.name, c.state, c.zip),
	}
}

func (g *Generator) activity(now time.Time, a *Account, emp Employer, c city, start time.Time, dur time.Duration) *Activity {
	ts := NewTimestamp(now)
	end := start.Add(dur)
	act := &Activity{
		ID:                    g.id(),
		Account:               a.ID,
		Employer:              emp.Name,
		LinkItem:              emp.LinkItem,
		DataPartner:           emp.LinkItem,
		CompleteDataAvailable: true,
		CreatedAt:             ts,
		UpdatedAt:             ts,
		Status:                ActivityCompleted,
		Type:                  emp.ActivityType,
		StartDate:             NewDateTime(start),
		EndDate:               NewDateTime(end),
		AllDatetimes:          AllDatetimes{Breaks: []Break{}},
		Duration:              int(dur / time.Second),
		Timezone:              &c.tz,
		EarningType:           EarningWork,
		Metadata:              map[string]any{},
		Income:                Income{Currency: "USD"},
	}
	if len(emp.ServiceTypes) > 0 {
		st := pick(g, emp.ServiceTypes)
		act.Circumstances.ServiceType = &st
		act.Circumstances.IsPool = strings.Contains(st, "Pool") || st == "Shared"
	}
	dt := func(t time.Time) *DateTime { d := NewDateTime(t); return &d }
	var pay, tips, bonus, fees int64
	var miles float64
	switch emp.ActivityType {
	case ActivityRideshare, ActivityDelivery:
		requested := start.Add(-time.Duration(g.between(120, 600)) * time.Second)
		act.AllDatetimes.RequestAt = dt(requested)
		act.AllDatetimes.AcceptAt = dt(requested.Add(time.Duration(g.between(5, 60)) * time.Second))
		act.AllDatetimes.PickupAt = dt(start)
		act.AllDatetimes.DropoffAt = dt(end)
		act.StartLocation, act.EndLocation = g.location(c), g.location(c)
		miles = math.Round((0.3+dur.Minutes()*g.rng.Float64()*0.5)*100) / 100
		act.Distance = ptr(strconv.FormatFloat(miles, 'f', 2, 64))
		act.DistanceUnit = ptr(DistanceMiles)
		act.Circumstances.IsSurge = g.chance(0.1)
		act.Circumstances.IsRush = g.chance(0.2)
		tasks := 1
		if emp.ActivityType == ActivityDelivery {
			tasks = int(g.between(1, 3))
		}
		act.NumTasks = &tasks
		pay = 250 + int64(miles*90) + int64(dur.Minutes()*20)
		if act.Circumstances.IsSurge {
			pay = pay * 3 / 2
		}
		if g.chance(0.6) {
			tips = g.between(100, 800)
		}
		if g.chance(0.1) {
			bonus = g.between(100, 500)
		}
		fees = (pay + bonus) / 3
		if emp.RouteURL != "" {
			act.Route = ptr(fmt.Sprintf(emp.RouteURL, g.id()))
		}
	case ActivityServices:
		act.StartLocation = g.location(c)
		act.EndLocation = act.StartLocation
		tasks := 1
		act.NumTasks = &tasks
		pay = int64(dur.Minutes() * float64(g.between(40, 70)))
		if g.chance(0.4) {
			tips = g.between(500, 2500)
		}
		fees = pay / 10
	default: // hourly
		act.AllDatetimes.ShiftStart = dt(start)
		act.AllDatetimes.ShiftEnd = dt(end)
		if dur > 6*time.Hour {
			bs := start.Add(dur / 2).Truncate(time.Minute)
			act.AllDatetimes.BreakStart, act.AllDatetimes.BreakEnd = dt(bs), dt(bs.Add(30*time.Minute))
			act.AllDatetimes.Breaks = []Break{{StartDate: NewDateTime(bs), EndDate: NewDateTime(bs.Add(30 * time.Minute))}}
		}
		// The workplace: the same store for every shift of the account.
		loc := &Location{
			Lat:              strconv.FormatFloat(c.lat, 'f', 10, 64),
			Lng:              strconv.FormatFloat(c.lng, 'f', 10, 64),
			FormattedAddress: fmt.Sprintf("%d %s, %s, %s %s, USA", 100+a.itemNumber()%9000, c.streets[0], c.name, c.state, c.zip),
		}
		act.StartLocation, act.EndLocation = loc, loc
		rate := emp.HourlyRate
		if rate == 0 {
			rate = 1725
		}
		pay = int64(float64(rate) * dur.Hours())
	}
	setIncome(act, pay, tips, bonus, fees, miles)
	return act
}

// setIncome fills an activity's income and income_rates from cents. Tips,
// bonus and fees of 0 are null for hourly work and "0.00" otherwise.
func setIncome(act *Activity, pay, tips, bonus, fees int64, miles float64) {
	hourly := act.Type == ActivityHourly
	opt := func(c int64) *string {
		if c == 0 && hourly {
			return nil
		}
		return ptr(money(c))
	}
	total := pay + tips + bonus
	act.Income.Pay = ptr(money(pay))
	act.Income.Tips = opt(tips)
	act.Income.Bonus = opt(bonus)
	act.Income.Fees = opt(fees)
	act.Income.Total = ptr(money(total))
	if hourly {
		act.Income.TotalCharge = nil
	} else {
		act.Income.TotalCharge = ptr(money(total + fees))
	}
	act.Income.Taxes = nil
	if act.Duration > 0 {
		act.IncomeRates.Hour = ptr(money(total * 3600 / int64(act.Duration)))
	}
	if miles > 0 {
		act.IncomeRates.Mile = ptr(money(int64(float64(total) / miles)))
	}
}

// Revise changes a as a late update would, at now: adds a tip (or raises
// it), recomputes the totals and bumps updated_at.
func (g *Generator) Revise(now time.Time, act *Activity) {
	tips := cents(act.Income.Tips) + g.between(100, 600)
	var miles float64
	if act.Distance != nil {
		miles, _ = strconv.ParseFloat(*act.Distance, 64)
	}
	setIncome(act, cents(act.Income.Pay), tips, cents(act.Income.Bonus), cents(act.Income.Fees), miles)
	act.UpdatedAt = NewTimestamp(now)
}

// PayDates returns the payout dates in (after, until], oldest first.
func PayDates(after, until time.Time) []time.Time {
	n := int64(math.Floor(float64(until.Sub(payAnchor)) / float64(payPeriod)))
	last := payAnchor.Add(time.Duration(n) * payPeriod)
	var out []time.Time
	for d := last; d.After(after); d = d.Add(-payPeriod) {
		out = append(out, d)
	}
	slices.Reverse(out)
	return out
}

// Payouts returns the payouts of a, created at now, for every payout date
// in (from, now] whose pay period holds some of activities, oldest first.
// prev is the latest earlier payout, from which year-to-date figures
// continue; nil if none.
func (g *Generator) Payouts(now time.Time, a *Account, emp Employer, activities []*Activity, from time.Time, prev *Payout) []*Payout {
	dates := PayDates(from, now)
	if len(dates) == 0 {
		return nil
	}
	sorted := slices.Clone(activities)
	slices.SortStableFunc(sorted, func(x, y *Activity) int { return x.StartDate.Compare(y.StartDate.Time) })
	// search returns the index of the first activity starting at or after t.
	search := func(t time.Time) int {
		i, _ := slices.BinarySearchFunc(sorted, t, func(a *Activity, t time.Time) int {
			if a.StartDate.Before(t) {
				return -1
			}
			return 1
		})
		return i
	}
	var out []*Payout
	for _, d := range dates {
		end := d.Add(-5 * day) // the period ends on the Sunday before
		start := end.Add(-13 * day)
		in := sorted[search(start):search(end.Add(day))]
		if len(in) == 0 {
			continue
		}
		p := g.payout(now, a, emp, d, start, end, in, prev)
		out = append(out, p)
		prev = p
	}
	return out
}

func (g *Generator) payout(now time.Time, a *Account, emp Employer, date, start, end time.Time, in []*Activity, prev *Payout) *Payout {
	ts := NewTimestamp(now)
	var pay, tips, bonus, seconds int64
	for _, act := range in {
		pay += cents(act.Income.Pay)
		tips += cents(act.Income.Tips)
		bonus += cents(act.Income.Bonus)
		seconds += int64(act.Duration)
	}
	gross := pay + tips + bonus
	hours := float64(seconds) / 3600
	contractor := emp.EmploymentType == "contractor"
	var taxes, deductions int64
	if !contractor {
		taxes = gross * 12 / 100
		deductions = gross * 5 / 100
	}
	net := gross - taxes - deductions
	dateStr := func(t time.Time) *string { return ptr(t.Format(time.DateOnly)) }
	p := &Payout{
		ID:                 g.id(),
		Account:            a.ID,
		DocumentID:         ptr(g.id()),
		Metadata:           map[string]any{},
		CreatedAt:          ts,
		UpdatedAt:          ts,
		Employer:           emp.LegalName,
		EmployerAddress:    emp.Address,
		Status:             PayoutCompleted,
		PayoutDate:         NewDateTime(date),
		PayoutPeriod:       PayoutPeriod{StartDate: NewDateTime(start), EndDate: NewDateTime(end)},
		Type:               PayoutDirectDeposit,
		Currency:           "USD",
		Hours:              ptr(strconv.FormatFloat(hours, 'f', 2, 64)),
		GrossPay:           ptr(money(gross)),
		NetPay:             ptr(money(net)),
		FilingStatus:       []FilingStatus{},
		GrossPayListTotals: map[string]any{},
		DeductionList:      []Deduction{},
		TaxList:            []Tax{},
	}
	if contractor {
		p.GrossPayList = []GrossPay{{Name: "Earnings", Type: "base", StartDate: dateStr(start), EndDate: dateStr(end),
			Hours: ptr(strconv.FormatFloat(hours, 'f', 4, 64)), Amount: ptr(money(pay))}}
		if tips > 0 {
			p.GrossPayList = append(p.GrossPayList, GrossPay{Name: "Tips", Type: "tips", StartDate: dateStr(start), EndDate: dateStr(end), Amount: ptr(money(tips))})
		}
		if bonus > 0 {
			p.GrossPayList = append(p.GrossPayList, GrossPay{Name: "Incentives", Type: "bonus", StartDate: dateStr(start), EndDate: dateStr(end), Amount: ptr(money(bonus))})
		}
	} else {
		rate := emp.HourlyRate
		if rate == 0 {
			rate = 1725
		}
		p.GrossPayList = []GrossPay{{Name: "Regular", Type: "regular", StartDate: dateStr(start), EndDate: dateStr(end),
			Rate: ptr(fmt.Sprintf("%d.%02d00", rate/100, rate%100)), Hours: ptr(strconv.FormatFloat(hours, 'f', 4, 64)), Amount: ptr(money(gross))}}
		p.Deductions, p.Taxes = ptr(money(deductions)), ptr(money(taxes))
		p.FilingStatus = []FilingStatus{{Type: "federal", Status: pick(g, []string{"single", "married"})}}
		p.DeductionList = []Deduction{{Name: "401K", Amount: ptr(money(deductions)), TaxClassification: "pre_tax"}}
		p.TaxList = []Tax{{Name: "Federal Income Tax", Type: "federal", Amount: ptr(money(taxes))}}
	}
	// Year-to-date figures continue from the previous payout of the same year.
	ytd := func(v int64, prevYTD *string) *string {
		if prev != nil && prev.PayoutDate.Year() == date.Year() {
			v += cents(prevYTD)
		}
		return ptr(money(v))
	}
	var pg, pn, pd, pt *string
	if prev != nil {
		pg, pn, pd, pt = prev.GrossPayYTD, prev.NetPayYTD, prev.DeductionsYTD, prev.TaxesYTD
	}
	p.GrossPayYTD, p.NetPayYTD = ytd(gross, pg), ytd(net, pn)
	if !contractor {
		p.DeductionsYTD, p.TaxesYTD = ytd(deductions, pd), ytd(taxes, pt)
	}
	return p
}

func ptr[T any](v T) *T { return &v }

// money formats cents as a decimal string ("1141.84").
func money(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}

// cents parses a decimal string written by money; nil and junk are 0.
func cents(s *string) int64 {
	if s == nil {
		return 0
	}
	f, err := strconv.ParseFloat(*s, 64)
	if err != nil {
		return 0
	}
	return int64(math.Round(f * 100))
}
