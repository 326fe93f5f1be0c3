package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookd/hookd/postgres/pgtest"
)

// TestMultiNode runs three `hookd serve` processes on one PostgreSQL
// database, publishes thousands of events across them, SIGKILLs one
// mid-run, and checks that every accepted event is delivered and that no
// delivery is ever sent by two nodes at once.
func TestMultiNode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	t.Parallel()
	const total, batch = 3000, 100
	dsn := pgtest.MustSchemaURL(t)
	bin := buildHookd(t)

	var mu sync.Mutex
	received := map[int]int{}     // seq -> deliveries
	inFlight := map[string]bool{} // webhook-id -> a request is being answered
	overlaps := 0                 // requests for a webhook-id already in flight
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("webhook-id")
		var env struct {
			Data struct{ Seq int } `json:"data"`
		}
		b, _ := io.ReadAll(r.Body)
		if json.Unmarshal(b, &env) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		if inFlight[id] {
			overlaps++
		}
		inFlight[id] = true
		mu.Unlock()
		time.Sleep(2 * time.Millisecond) // hold each request, so overlaps would show
		mu.Lock()
		delete(inFlight, id)
		received[env.Data.Seq]++
		mu.Unlock()
	}))
	defer rcv.Close()

	var keyOut bytes.Buffer
	if err := Run(t.Context(), []string{"keys", "create", "--tenant", "multi", "--json", "--db", dsn}, &keyOut, io.Discard); err != nil {
		t.Fatal(err)
	}
	var key map[string]string
	json.Unmarshal(keyOut.Bytes(), &key)

	args := []string{"--db", dsn, "--allow-private", "--lease", "11s", "--timeout", "1s"}
	nodes := []*child{startChild(t, bin, args...), startChild(t, bin, args...), startChild(t, bin, args...)}
	api := &client{tb: t, base: nodes[0].base, id: key["api_key_id"], secret: key["api_key_secret"]}
	api.json("POST", "/v1/webhooks", `{"name":"multi","events":["*"],"url":"`+rcv.URL+`"}`, http.StatusCreated, nil)

	pub := &publisher{keyID: key["api_key_id"], keySecret: key["api_key_secret"], batch: batch}
	var unanswered []int
	killed := false
	for i, seq := 0, 0; seq < total; i, seq = i+1, seq+batch {
		node := nodes[i%3]
		if killed && node == nodes[2] {
			node = nodes[i%2]
		}
		if err := pub.publish(node.base, seq, seq+batch); err != nil {
			unanswered = append(unanswered, seq)
		}
		if !killed && pub.count() >= total/3 {
			if err := nodes[2].cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			nodes[2].cmd.Wait()
			killed = true
		}
	}
	for _, seq := range unanswered {
		if err := pub.publish(nodes[0].base, seq, seq+batch); err != nil {
			t.Fatalf("publish %d: %v", seq, err)
		}
	}
	accepted := pub.snapshot()

	deadline := time.Now().Add(90 * time.Second)
	for {
		mu.Lock()
		missing := 0
		for seq := range accepted {
			if received[seq] == 0 {
				missing++
			}
		}
		mu.Unlock()
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted events never arrived", missing, len(accepted))
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, n := range nodes[:2] {
		n.cmd.Process.Signal(syscall.SIGTERM)
		n.cmd.Wait()
	}

	mu.Lock()
	defer mu.Unlock()
	dups := 0
	for _, n := range received {
		dups += n - 1
	}
	t.Logf("multi-node: 3 nodes, 1 SIGKILLed; accepted %d events, delivered %d distinct, %d duplicate deliveries (the killed node's in-flight work), %d sent by two nodes at once",
		len(accepted), len(received), dups, overlaps)
	writeArtifact(t, "multi-node.txt", fmt.Sprintf("multi-node (3 serve processes on PostgreSQL, 1 SIGKILLed): accepted=%d delivered=%d duplicates=%d sent_by_two_nodes_at_once=%d\n",
		len(accepted), len(received), dups, overlaps))
	if overlaps != 0 {
		t.Fatalf("%d deliveries were sent by two nodes at once", overlaps)
	}
}
