use super::*;

const LIMITS: &str = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max processes             96365                96365                processes\n\
                      Max open files            1024                 524288               files\n";

/// A machine like ours: 20,000 descriptors, 32,768 pids, no cgroup limit.
fn sample() -> Sources {
    Sources {
        limits: Some(LIMITS.replace("1024   ", "20000  ")),
        max_map_count: Some("65530\n".into()),
        threads_max: Some("192730\n".into()),
        pid_max: Some("32768\n".into()),
        loadavg: Some("3.23 2.52 1.10 1/110 15015\n".into()),
        cgroup_pids: Vec::new(),
    }
}

#[test]
fn reads_soft_limits_by_row() {
    assert_eq!(parse_soft_limit(LIMITS, "Max open files"), Some(1024));
    assert_eq!(parse_soft_limit(LIMITS, "Max processes"), Some(96365));
    assert_eq!(
        parse_soft_limit("Max open files  unlimited  unlimited", "Max open files"),
        None
    );
    assert_eq!(
        parse_threads_running("0.00 0.01 0.05 1/123 4567\n"),
        Some(123)
    );
    assert_eq!(parse_number("max\n"), None);
    assert_eq!(parse_number("4915\n"), Some(4915));
}

#[test]
fn every_limit_has_a_budget_and_the_smallest_binds() {
    let budgets = budgets(&sample());
    let of = |limit| budgets.iter().find(|b| b.limit == limit).unwrap().clients;
    assert_eq!(of(Limit::OpenFiles), 20000 - RESERVED_DESCRIPTORS);
    assert_eq!(
        of(Limit::MemoryMaps),
        65530 / MAPS_PER_THREAD - RESERVED_THREADS
    );
    assert_eq!(of(Limit::PidMax), 32768 - 110 - RESERVED_THREADS);
    assert_eq!(of(Limit::ThreadsMax), 192730 - 110 - RESERVED_THREADS);
    assert_eq!(of(Limit::UserProcesses), 96365 - RESERVED_THREADS);
    assert_eq!(binding(&budgets).unwrap().limit, Limit::MemoryMaps);
    assert!(warning_for(10_000, true, &budgets).is_none());
    assert!(warning_for(11_000, true, &budgets).is_some());
}

#[test]
fn a_small_pid_max_or_nproc_binds_before_descriptors() {
    let mut sources = sample();
    sources.pid_max = Some("4096\n".into());
    let budget = binding(&budgets(&sources)).unwrap();
    assert_eq!((budget.limit, budget.value), (Limit::PidMax, 4096));
    let limits = sources.limits.take().unwrap();
    sources.limits = Some(limits.replace("96365                96365", "2000 2000"));
    assert_eq!(
        binding(&budgets(&sources)).unwrap().limit,
        Limit::UserProcesses
    );
}

#[test]
fn systemd_tasks_max_binds_through_the_cgroup() {
    let mut sources = sample();
    // Our service's cgroup holds TasksMax=4915 with 15 tasks in it; its parent has none.
    sources.cgroup_pids = vec![
        ("4915\n".into(), Some("15\n".into())),
        ("max\n".into(), Some("300\n".into())),
    ];
    let budgets = budgets(&sources);
    let budget = binding(&budgets).unwrap();
    assert_eq!(budget.limit, Limit::CgroupTasks);
    assert_eq!(budget.clients, 4915 - 15 - RESERVED_THREADS);
    let warning = warning_for(10_000, true, &budgets).expect("10,000 is above 2,788");
    assert!(warning.contains("pids.max allows (4915"), "{warning}");
    assert!(warning.contains("TasksMax="), "{warning}");
    // A parent with less room left binds instead.
    sources
        .cgroup_pids
        .push(("4000\n".into(), Some("900\n".into())));
    let parent = binding(&super::budgets(&sources)).unwrap();
    assert_eq!(parent.clients, 4000 - 900 - RESERVED_THREADS);
}

#[test]
fn finds_the_cgroup_folders_for_v1_and_v2() {
    let v2 = "0::/system.slice/sse-server.service\n";
    assert_eq!(
        cgroup_dirs(v2),
        vec![
            PathBuf::from("/sys/fs/cgroup/system.slice/sse-server.service"),
            PathBuf::from("/sys/fs/cgroup/system.slice"),
            PathBuf::from("/sys/fs/cgroup"),
        ]
    );
    let hybrid = "9:name=systemd:/\n8:pids:/docker/abc\n4:memory:/docker/abc\n0::/\n";
    assert_eq!(
        cgroup_dirs(hybrid),
        vec![
            PathBuf::from("/sys/fs/cgroup/pids/docker/abc"),
            PathBuf::from("/sys/fs/cgroup/pids/docker"),
            PathBuf::from("/sys/fs/cgroup/pids"),
        ]
    );
    assert_eq!(
        cgroup_dirs("3:cpu,pids:/a\n"),
        vec![
            PathBuf::from("/sys/fs/cgroup/pids/a"),
            PathBuf::from("/sys/fs/cgroup/pids"),
        ]
    );
    assert!(cgroup_dirs("").is_empty());
}

#[test]
fn default_cap_leaves_room_below_the_descriptor_limit() {
    let cap = default_max_clients();
    if let Some(open_files) = open_files_soft_limit() {
        assert!(cap + reserved_descriptors(open_files) <= open_files.max(2));
    }
    assert!(cap >= 1);
    assert!(warning_for(cap, false, &budgets(&Sources::read())).is_none());
}

#[test]
fn a_stock_shells_1024_descriptors_leave_room_for_half_as_many_streams() {
    // Regression: the reserve was a fixed 3,136, so 1,024 descriptors gave a cap of 1.
    let mut sources = sample();
    sources.limits = Some(LIMITS.to_string());
    let budgets = budgets(&sources);
    let budget = binding(&budgets).unwrap();
    assert_eq!((budget.limit, budget.clients), (Limit::OpenFiles, 512));
    // A large limit keeps the whole reserve.
    assert_eq!(reserved_descriptors(65_536), RESERVED_DESCRIPTORS);
    assert_eq!(reserved_descriptors(0), 0);
}

#[test]
fn the_warning_names_the_flag_only_when_it_was_given() {
    let mut sources = sample();
    sources.limits = Some(LIMITS.replace("1024   ", "2      "));
    let budgets = budgets(&sources);
    assert_eq!(binding(&budgets).unwrap().clients, 1);
    let given = warning_for(5, true, &budgets).unwrap();
    assert!(given.starts_with("--max-clients 5 is above"), "{given}");
    let default = warning_for(5, false, &budgets).unwrap();
    assert!(!default.contains("--max-clients"), "{default}");
    assert!(default.contains("ulimit -n"), "{default}");
}
