// detect streams a file to DeepSafeService/Detect over gRPC and prints the verdict.
//
//	go run ./detect -gateway localhost:8000 photo.jpg
//	go run ./detect -gateway localhost:8000 -models npr,ufd -ensemble average -json photo.jpg
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	deepsafev1 "deepsafe.local/client/gen/deepsafe/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
)

const chunkBytes = 64 * 1024

var ensembles = map[string]deepsafev1.EnsembleMethod{
	"":         deepsafev1.EnsembleMethod_ENSEMBLE_METHOD_UNSPECIFIED,
	"voting":   deepsafev1.EnsembleMethod_ENSEMBLE_METHOD_VOTING,
	"average":  deepsafev1.EnsembleMethod_ENSEMBLE_METHOD_AVERAGE,
	"stacking": deepsafev1.EnsembleMethod_ENSEMBLE_METHOD_STACKING,
}

func detect(ctx context.Context, client deepsafev1.DeepSafeServiceClient, path string, header *deepsafev1.DetectHeader) (*deepsafev1.DetectResponse, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return nil, err
	}
	header.FileName = filepath.Base(path)
	header.DeclaredSize = uint64(info.Size())
	stream, err := client.Detect(ctx)
	if err != nil {
		return nil, err
	}
	if err := stream.Send(&deepsafev1.DetectRequest{Payload: &deepsafev1.DetectRequest_Header{Header: header}}); err != nil {
		return nil, err
	}
	buf := make([]byte, chunkBytes)
	for {
		n, readErr := file.Read(buf)
		if n > 0 {
			chunk := append([]byte(nil), buf[:n]...)
			if err := stream.Send(&deepsafev1.DetectRequest{Payload: &deepsafev1.DetectRequest_Chunk{Chunk: chunk}}); err != nil {
				// The server ended the stream early (e.g. too large): its status is in CloseAndRecv.
				if errors.Is(err, io.EOF) {
					break
				}
				return nil, err
			}
		}
		if readErr == io.EOF {
			break
		}
		if readErr != nil {
			return nil, readErr
		}
	}
	return stream.CloseAndRecv()
}

func main() {
	gateway := flag.String("gateway", "localhost:8000", "gateway host:port (gRPC, plaintext h2c)")
	models := flag.String("models", "", "comma-separated detectors (default: the media type's defaults)")
	ensemble := flag.String("ensemble", "", "voting | average | stacking")
	includeRandom := flag.Bool("include-random-weights", false, "count detectors running random test weights (testing only)")
	asJSON := flag.Bool("json", false, "print the whole response as JSON")
	timeout := flag.Duration("timeout", 5*time.Minute, "deadline for the call")
	flag.Parse()
	method, ok := ensembles[*ensemble]
	if flag.NArg() != 1 || !ok {
		fmt.Fprintln(os.Stderr, "usage: detect [-gateway host:port] [-models a,b] [-ensemble voting|average|stacking] [-json] <file>")
		os.Exit(2)
	}
	conn, err := grpc.NewClient(*gateway, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "detect:", err)
		os.Exit(2)
	}
	defer conn.Close()
	header := &deepsafev1.DetectHeader{EnsembleMethod: method, IncludeRandomWeights: *includeRandom}
	if *models != "" {
		header.Models = strings.Split(*models, ",")
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	res, err := detect(ctx, deepsafev1.NewDeepSafeServiceClient(conn), flag.Arg(0), header)
	if err != nil {
		if s, ok := status.FromError(err); ok {
			fmt.Fprintf(os.Stderr, "detect: %s: %s\n", s.Code(), s.Message())
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "detect:", err)
		os.Exit(2)
	}
	if *asJSON {
		fmt.Println(protojson.Format(res))
		return
	}
	verdict := strings.TrimPrefix(res.Verdict.String(), "VERDICT_")
	score := "no score"
	if res.EnsembleScore != nil {
		score = fmt.Sprintf("score %.3f (threshold %g)", res.GetEnsembleScore(), res.Threshold)
	}
	fmt.Printf("%s  %s  [%s]\n", verdict, score, res.RequestId)
	if res.Note != "" {
		fmt.Printf("  note: %s\n", res.Note)
	}
	for _, m := range res.ModelResults {
		if m.ErrorCode != "" {
			fmt.Printf("  %-20s error %s: %s\n", m.Model, m.ErrorCode, m.ErrorMessage)
			continue
		}
		fmt.Printf("  %-20s p(fake) %.3f, %s, counted %v\n", m.Model, m.GetPrediction().GetProbabilityFake(), strings.TrimPrefix(m.WeightsKind.String(), "WEIGHTS_KIND_"), m.UsedInVerdict)
	}
}
