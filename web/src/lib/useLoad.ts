import { useCallback, useEffect, useRef, useState } from "react";
import { ApiFailure } from "../api/client";

export type Load<T> = {
  data: T | undefined;
  error: ApiFailure | undefined;
  loading: boolean;
  reload: () => void;
};

/** Runs `fetcher` when `key` changes (and on reload); the newest answer wins. */
export function useLoad<T>(fetcher: () => Promise<T>, key: string): Load<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<ApiFailure>();
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const latest = useRef(0);
  const fetcherRef = useRef(fetcher);
  fetcherRef.current = fetcher;

  useEffect(() => {
    const run = ++latest.current;
    setLoading(true);
    fetcherRef
      .current()
      .then((value) => {
        if (run !== latest.current) return;
        setData(value);
        setError(undefined);
      })
      .catch((failure: unknown) => {
        if (run !== latest.current) return;
        setError(
          failure instanceof ApiFailure
            ? failure
            : new ApiFailure(String(failure), "client_error", 0),
        );
      })
      .finally(() => {
        if (run === latest.current) setLoading(false);
      });
  }, [key, tick]);

  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, loading, reload };
}
